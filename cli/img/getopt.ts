/**
 * GNU getopt_long, as qemu-img calls it: short options in an option string that starts
 * with ':' (so a missing argument is told apart from an unknown option), long options
 * matched exactly or by an unambiguous prefix (`--out=json`), `--opt=value` and
 * `--opt value`, clustered short options (`-qf raw`, `-fraw`), `--` ending the options,
 * and glibc's default PERMUTE mode: options may follow operands (`info a.img
 * --output=json`); operands keep their order and end up after the options.
 *
 * qemu-img reports a bad option by naming `argv[optind - 1]`, which for an unknown letter
 * inside a cluster is the element before it (`info -qZ` says "unrecognized option
 * 'info'"). The parser keeps glibc's `optind` bookkeeping so that `culprit()` names the
 * same element.
 */

export type ArgKind = 'none' | 'required';

/** One long option: its name, whether it takes an argument, and the key it reports. */
export interface LongOpt {
  readonly name: string;
  readonly arg: ArgKind;
  readonly key: string;
}

export type GetoptResult =
  /** An option: the short letter or the long option's key, with its argument. */
  | { readonly kind: 'opt'; readonly key: string; readonly arg?: string }
  /** qemu-img's "unrecognized option '<culprit>'". */
  | { readonly kind: 'unrecognized'; readonly culprit: string }
  /** qemu-img's "missing argument for option '<culprit>'". */
  | { readonly kind: 'missing'; readonly culprit: string };

const isOperand = (s: string): boolean => s[0] !== '-' || s.length === 1;

export class Getopt {
  /** The argument vector, permuted as parsing goes (argv[0] is the command name). */
  readonly argv: string[];
  optind = 1;
  private nextchar = '';
  private firstNonopt = 1;
  private lastNonopt = 1;

  constructor(
    argv: readonly string[],
    private readonly shortopts: string,
    private readonly longopts: readonly LongOpt[] = [],
  ) {
    this.argv = [...argv];
  }

  /** The operands left once `next()` has returned undefined. */
  operands(): string[] {
    return this.argv.slice(this.optind);
  }

  /** The next option, or undefined when the options are over. */
  next(): GetoptResult | undefined {
    const argv = this.argv;
    const argc = argv.length;
    if (this.nextchar === '') {
      if (this.lastNonopt > this.optind) this.lastNonopt = this.optind;
      if (this.firstNonopt > this.optind) this.firstNonopt = this.optind;
      if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
      else if (this.lastNonopt !== this.optind) this.firstNonopt = this.optind;
      while (this.optind < argc && isOperand(argv[this.optind])) this.optind++;
      this.lastNonopt = this.optind;
      if (this.optind !== argc && argv[this.optind] === '--') {
        this.optind++;
        if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
        else if (this.firstNonopt === this.lastNonopt) this.firstNonopt = this.optind;
        this.lastNonopt = argc;
        this.optind = argc;
      }
      if (this.optind === argc) {
        if (this.firstNonopt !== this.lastNonopt) this.optind = this.firstNonopt;
        return undefined;
      }
      const arg = argv[this.optind];
      if (arg.startsWith('--')) return this.longOption(arg.slice(2));
      this.nextchar = arg.slice(1);
    }
    return this.shortOption();
  }

  /** The element qemu-img names in its error messages. */
  culprit(): string {
    return this.argv[this.optind - 1] ?? '';
  }

  private shortOption(): GetoptResult {
    const c = this.nextchar[0];
    this.nextchar = this.nextchar.slice(1);
    const at = c === ':' ? -1 : this.shortopts.indexOf(c);
    if (this.nextchar === '') this.optind++;
    if (at < 0) return { kind: 'unrecognized', culprit: this.culprit() };
    if (this.shortopts[at + 1] !== ':') return { kind: 'opt', key: c };
    let arg: string;
    if (this.nextchar !== '') {
      arg = this.nextchar;
      this.optind++;
    } else if (this.optind === this.argv.length) {
      return { kind: 'missing', culprit: this.culprit() };
    } else {
      arg = this.argv[this.optind++];
    }
    this.nextchar = '';
    return { kind: 'opt', key: c, arg };
  }

  private longOption(text: string): GetoptResult {
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);
    this.optind++;
    const exact = this.longopts.find((o) => o.name === name);
    const prefixed = this.longopts.filter((o) => o.name.startsWith(name));
    const same = prefixed.every((o) => o.key === prefixed[0].key && o.arg === prefixed[0].arg);
    const found = exact ?? (prefixed.length > 0 && same ? prefixed[0] : undefined);
    if (!found || name === '') return { kind: 'unrecognized', culprit: this.culprit() };
    if (eq >= 0) {
      if (found.arg === 'none') return { kind: 'unrecognized', culprit: this.culprit() };
      return { kind: 'opt', key: found.key, arg: text.slice(eq + 1) };
    }
    if (found.arg === 'none') return { kind: 'opt', key: found.key };
    if (this.optind >= this.argv.length) return { kind: 'missing', culprit: this.culprit() };
    return { kind: 'opt', key: found.key, arg: this.argv[this.optind++] };
  }

  /** Move the operands skipped so far ([firstNonopt, lastNonopt)) after the options that followed them. */
  private exchange(): void {
    const a = this.argv;
    const operands = a.slice(this.firstNonopt, this.lastNonopt);
    const options = a.slice(this.lastNonopt, this.optind);
    a.splice(this.firstNonopt, this.optind - this.firstNonopt, ...options, ...operands);
    this.firstNonopt += options.length;
    this.lastNonopt = this.optind;
  }
}
