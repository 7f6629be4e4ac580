/**
 * The BlockDriver contract at the node level: every configuration in DRIVER_FIXTURES
 * (support/driver-fixtures.ts) against a flat byte-array model, holding each driver to
 * what its fixture claims (keeps data, discard semantics, persistence, resize). Where
 * storage-contract.prop.ts drives whole drives through the BlockBackend a device uses
 * (range errors, FUA and cache modes, power cuts), this suite calls the node's own
 * operations, so a format or filter driver is held to the contract directly.
 *
 * - a write at any byte offset and length reads back, and nothing else changes;
 * - write-zeroes reads as zeroes; discard reads as zeroes, or zeroes-or-old where claimed;
 * - flush succeeds, and for persistent drivers everything survives close and reopen;
 * - block status runs are non-empty, tile the queried range, and a ZERO or unallocated
 *   run reads as zeroes;
 * - growing reads zeroes in the new bytes, or fails with ENOTSUP where the driver says so;
 * - any sequence of all of these (fast-check model-based commands) ends with the node
 *   reading exactly as the model.
 *
 * Failures print fast-check's seed and path. Runs: 20 per property (model-based: 15 runs
 * of up to 30 commands); IOPATH_DEEP=1 multiplies them by ten.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BlockStatusCommand,
  DiscardCommand,
  driverCommands,
  expectModel,
  GrowCommand,
  ReadCommand,
  ReopenCommand,
  WriteCommand,
  WriteZeroesCommand,
  type DriverModel,
  type DriverReal,
} from './support/driver-commands.js';
import { DRIVER_FIXTURES, removeFixtureFiles, type DriverFixture } from './support/driver-fixtures.js';
import { runs } from './support/vm.js';

afterAll(removeFixtureFiles);

const RUNS = runs(20);
/** Disk sizes up to 256 KiB, in the fixture's unit. */
const MAX_BYTES = 256 * 1024;
const sizeArb = (f: DriverFixture) => fc.integer({ min: 1, max: Math.floor(MAX_BYTES / f.claims.sizeUnit) }).map((k) => k * f.claims.sizeUnit);
const n = fc.nat();

/** Run `body` on a fresh node of `size` bytes and its (all-zero) model; always closes the node. */
function withNode(f: DriverFixture, size: number, body: (m: DriverModel, r: DriverReal) => void): void {
  const r: DriverReal = { node: f.make(size), claims: f.claims };
  try {
    const m: DriverModel = { data: new Uint8Array(size) };
    expectModel(m, r, 'fresh node (zeroes)');
    body(m, r);
  } finally {
    r.node.close();
  }
}

describe.each(DRIVER_FIXTURES)('BlockDriver contract: $name', (f) => {
  it('a write at any byte offset and length reads back; every other byte is unchanged', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.array(fc.tuple(n, n, fc.nat(255)), { minLength: 1, maxLength: 4 }), n, n, (size, writes, ra, rb) => {
        withNode(f, size, (m, r) => {
          for (const [a, b, seed] of writes) new WriteCommand(a, b, seed, false).run(m, r);
          new ReadCommand(ra, rb).run(m, r);
          expectModel(m, r, 'after the writes');
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('write-zeroes reads as zeroes', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.nat(255), n, n, fc.boolean(), (size, seed, a, b, unmap) => {
        withNode(f, size, (m, r) => {
          new WriteCommand(0, size - 1, seed, false).run(m, r);
          new WriteZeroesCommand(a, b, unmap).run(m, r);
          expectModel(m, r, 'after write-zeroes');
        });
      }),
      { numRuns: RUNS },
    );
  });

  it(`discard reads as ${f.claims.discard === 'zeroes' ? 'zeroes' : 'zeroes or the old data'}`, () => {
    fc.assert(
      fc.property(sizeArb(f), fc.nat(255), n, n, (size, seed, a, b) => {
        withNode(f, size, (m, r) => {
          new WriteCommand(0, size - 1, seed, false).run(m, r);
          new DiscardCommand(a, b).run(m, r);
          expectModel(m, r, 'after discard');
        });
      }),
      { numRuns: RUNS },
    );
  });

  it(f.claims.persistent ? 'flush succeeds and the data survives close and reopen' : 'flush succeeds', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.array(fc.tuple(n, n, fc.nat(255)), { minLength: 1, maxLength: 3 }), (size, writes) => {
        withNode(f, size, (m, r) => {
          for (const [a, b, seed] of writes) new WriteCommand(a, b, seed, false).run(m, r);
          if (f.claims.persistent) new ReopenCommand().run(m, r);
          else expect(r.node.bs.flush({ ns: 0 })).toBeNull();
          expectModel(m, r, 'after flush');
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('block status runs tile the queried range, and ZERO or unallocated runs read as zeroes', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.array(fc.tuple(n, n, fc.nat(255), fc.nat(3)), { maxLength: 5 }), n, n, (size, ops, qa, qb) => {
        withNode(f, size, (m, r) => {
          for (const [a, b, seed, kind] of ops) {
            if (kind === 0) new WriteZeroesCommand(a, b, true).run(m, r);
            else if (kind === 1) new DiscardCommand(a, b).run(m, r);
            else new WriteCommand(a, b, seed, false).run(m, r);
          }
          new BlockStatusCommand(qa, qb).run(m, r);
          new BlockStatusCommand(0, size - 1).run(m, r);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it(f.claims.resize === 'grows' ? 'growing keeps the data and reads zeroes in the new bytes' : 'growing fails with ENOTSUP', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.nat(255), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 3 }), (size, seed, grows) => {
        withNode(f, size, (m, r) => {
          new WriteCommand(0, size - 1, seed, false).run(m, r);
          for (const u of grows) new GrowCommand(u).run(m, r);
          expectModel(m, r, 'after growing');
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('any sequence of writes, reads, write-zeroes, discards, flushes, status queries, resizes and reopens matches the model', () => {
    fc.assert(
      fc.property(sizeArb(f), fc.commands(driverCommands(f.claims), { maxCommands: 30 }), (size, cmds) => {
        withNode(f, size, (m, r) => {
          fc.modelRun(() => ({ model: m, real: r }), cmds);
          expectModel(m, r, 'after the commands');
        });
      }),
      { numRuns: runs(15) },
    );
  });
});
