/**
 * Property tables, the gem5 rule: a device's parameters are declared once, each with its
 * QEMU name, type, default and help, and the parser, the canonical printer and the
 * `-device <model>,help` text are all driven from that one table (QEMU's own
 * `Property[]` arrays and `DEFINE_PROP_*` macros play the same part).
 *
 * A property type is a codec: it parses the option text into a value (or a QEMU-worded
 * error) and prints a value back so that parsing the print gives the value again.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CmdlineError } from './errors.js';
import { escapeValue, type OptPair } from './opts.js';

/** What the referencing property types (drive, iothread links) may look up. */
export interface PropEnv {
  hasIothread(id: string): boolean;
  /**
   * undefined when there is no such drive. `node`: a -blockdev node, which several devices
   * may name (each with a BlockBackend of its own; block-perm.ts checks who may write).
   */
  drive(id: string): { inUse: boolean; automatic: boolean; empty: boolean; node: boolean } | undefined;
  /** The SCSI buses created so far (`scsi0.0`…), in order. */
  scsiBuses(): readonly string[];
}

/** Where a value is being parsed: for error messages and look-ups. */
export interface PropSite {
  /** The QOM type name, e.g. `virtio-blk-pci`. */
  readonly type: string;
  /** The property name, e.g. `queue-size`. */
  readonly prop: string;
  /** The option as written, for the message prefix. */
  readonly loc: string;
  readonly env: PropEnv;
}

export interface PropType<T> {
  /** The type as QEMU's help prints it: `bool`, `uint16`, `str`, `link<iothread>`… */
  readonly name: string;
  parse(raw: string, site: PropSite): E.Either<CmdlineError, T>;
  format(value: T): string;
}

/** What a default may depend on. */
export interface DefaultContext {
  readonly cpus: number;
}

export type PropDefault<S, T> =
  | { readonly kind: 'value'; readonly value: T }
  /** Derived from the machine or from properties earlier in the table. */
  | { readonly kind: 'computed'; readonly describe: string; compute(ctx: DefaultContext, spec: Partial<S>): T }
  /** Optional (absent means unset) or required (the device's realize check says so). */
  | { readonly kind: 'none' };

export interface PropDecl<S, K extends keyof S> {
  readonly name: string;
  readonly field: K;
  readonly type: PropType<NonNullable<S[K]>>;
  readonly default: PropDefault<S, NonNullable<S[K]>>;
  readonly help: string;
}

/** A declaration for any one field of S (an existential over K). */
export type AnyPropDecl<S> = { [K in keyof S]-?: PropDecl<S, K> }[keyof S];

/** Helper that keeps K precise while building a table literal. */
export function prop<S>() {
  return <K extends keyof S>(d: PropDecl<S, K>): AnyPropDecl<S> => d as unknown as AnyPropDecl<S>;
}

/** One entry of a device model's own table (e.g. `VIRTIO_BLK_PROPS`): type tag, default, help. */
export interface ModelPropDecl<Tag extends string, T> {
  readonly type: Tag;
  readonly default: T;
  readonly help: string;
}

/**
 * A device model's property table as front-end declarations: each property keeps the
 * model's name (as its field too), default and help, and parses and prints with the codec
 * `codecs` registers for its type tag. The front end declares none of them again.
 */
export function declsFromModel<P, Tag extends string>(
  table: { readonly [K in keyof P]: ModelPropDecl<Tag, P[K]> },
  codecs: { readonly [T in Tag]: PropType<unknown> },
): AnyPropDecl<P>[] {
  return (Object.keys(table) as (keyof P & string)[]).map((name) => {
    const d = table[name];
    const decl: LooseDecl = {
      name,
      field: name,
      type: codecs[d.type],
      default: { kind: 'value', value: d.default },
      help: d.help,
    };
    return decl as unknown as AnyPropDecl<P>;
  });
}

// The machinery below reads and writes fields through these loose views: the table
// guarantees each decl's type matches its field, which TypeScript cannot see through a
// union of declarations.
type Loose = Record<string, unknown>;
interface LooseDecl {
  readonly name: string;
  readonly field: string;
  readonly type: PropType<unknown>;
  readonly default: PropDefault<unknown, unknown>;
  readonly help: string;
}
const loose = <S>(decls: readonly AnyPropDecl<S>[]): readonly LooseDecl[] => decls as unknown as LooseDecl[];

/**
 * Set properties from option pairs, in the order given (as QEMU does, so the first bad
 * property is the one reported), then fill every unset field with its default, in table
 * order (so a computed default sees the fields above it).
 */
export function applyProps<S>(
  decls: readonly AnyPropDecl<S>[],
  pairs: readonly OptPair[],
  where: { type: string; loc: string; env: PropEnv },
  ctx: DefaultContext,
): E.Either<CmdlineError, Partial<S>> {
  const table = loose(decls);
  const out: Loose = {};
  for (const { key, value } of pairs) {
    const d = table.find((x) => x.name === key);
    if (!d) return E.left({ _tag: 'PropertyNotFound', loc: where.loc, type: where.type, prop: key });
    const parsed = d.type.parse(value, { ...where, prop: key });
    if (E.isLeft(parsed)) return parsed;
    out[d.field] = parsed.right;
  }
  for (const d of table) {
    if (out[d.field] !== undefined) continue;
    const v = defaultValue(d, ctx, out);
    if (v !== undefined) out[d.field] = v;
  }
  return E.right(out as Partial<S>);
}

function defaultValue(d: LooseDecl, ctx: DefaultContext, spec: Loose): unknown {
  switch (d.default.kind) {
    case 'value':
      return d.default.value;
    case 'computed':
      return d.default.compute(ctx, spec);
    case 'none':
      return undefined;
  }
}

/** The defaults alone (no properties given); required fields stay unset. */
export function defaultsOf<S>(decls: readonly AnyPropDecl<S>[], ctx: DefaultContext): Partial<S> {
  const out: Loose = {};
  for (const d of loose(decls)) {
    const v = defaultValue(d, ctx, out);
    if (v !== undefined) out[d.field] = v;
  }
  return out as Partial<S>;
}

/**
 * `name=value` for every field that differs from its default, in table order: the
 * canonical (shortest) form that `applyProps` turns back into the same object.
 */
export function formatProps<S>(decls: readonly AnyPropDecl<S>[], spec: S, ctx: DefaultContext): string[] {
  const out: string[] = [];
  const s = spec as unknown as Loose;
  for (const d of loose(decls)) {
    const v = s[d.field];
    if (v === undefined) continue;
    const def = defaultValue(d, ctx, s);
    if (def !== undefined && d.type.format(def) === d.type.format(v)) continue;
    out.push(`${d.name}=${escapeValue(d.type.format(v))}`);
  }
  return out;
}

/**
 * The text of `-device <type>,help`, laid out like QEMU's `qdev_device_help`: sorted by
 * name, `  name=<type>` padded to 24 columns, ` - help`, then ` (default: …)`.
 */
export function propsHelp<S>(type: string, decls: readonly AnyPropDecl<S>[]): string {
  const lines = [...loose(decls)]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((d) => {
      const head = `  ${d.name}=<${d.type.name}>`;
      // An empty default (a string property's '') is printed as QEMU prints a NULL one: not at all.
      const shown = d.default.kind === 'value' ? d.type.format(d.default.value) : d.default.kind === 'computed' ? d.default.describe : '';
      const def = shown === '' ? '' : ` (default: ${shown})`;
      return `${head.padEnd(24)} - ${d.help}${def}`;
    });
  return [`${type} options:`, ...lines].join('\n');
}
