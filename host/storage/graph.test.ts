import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { BlockError } from './errors.js';
import { blockErrorMessage } from './errors.js';
import { BlockGraph } from './graph.js';
import { newBlockEnv } from './testing.js';

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'opened');
const right = <T>(r: E.Either<BlockError, T>): T => {
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
};

describe('BlockGraph.blockdevAdd (-blockdev)', () => {
  it('builds a format node over a protocol node, nested or with dotted keys', () => {
    const g = new BlockGraph(newBlockEnv());
    const a = right(g.blockdevAdd({ driver: 'raw', 'node-name': 'disk0', file: { driver: 'memory', 'node-name': 'mem0', size: '1M' } }));
    expect(a.nodeName).toBe('disk0');
    expect(a.drv.formatName).toBe('raw');
    expect(a.child('file')?.nodeName).toBe('mem0');
    expect(g.node('mem0')?.getLength()).toBe(1 << 20);
    const b = right(g.blockdevAdd({ driver: 'raw', 'file.driver': 'memory', 'file.size': 4096 }));
    expect(b.nodeName).toMatch(/^#block\d+$/);
    expect(b.getLength()).toBe(4096);
  });

  it('attaches an existing node named as a child', () => {
    const g = new BlockGraph(newBlockEnv());
    right(g.blockdevAdd({ driver: 'memory', 'node-name': 'proto', size: 8192 }));
    const top = right(g.blockdevAdd({ driver: 'raw', file: 'proto' }));
    expect(top.child('file')).toBe(g.node('proto'));
    expect(message(g.blockdevAdd({ driver: 'raw', file: 'nope' }))).toBe("Cannot find device='' nor node-name='nope'");
  });

  it("refuses bad specs with QEMU's messages, naming the culprit", () => {
    const g = new BlockGraph(newBlockEnv());
    expect(message(g.blockdevAdd({ driver: 'foo' }))).toBe("Unknown driver 'foo'");
    expect(message(g.blockdevAdd({ size: 1 }))).toBe("Parameter 'driver' is missing");
    expect(message(g.blockdevAdd({ driver: 'memory' }))).toBe("Parameter 'size' is missing");
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, colour: 'red' }))).toBe("Block protocol 'memory' doesn't support the option 'colour'");
    expect(message(g.blockdevAdd({ driver: 'raw', 'file.driver': 'memory', 'file.size': 1, colour: 'red' }))).toBe(
      "Block format 'raw' does not support the option 'colour'",
    );
    expect(message(g.blockdevAdd({ driver: 'raw' }))).toBe('A block device must be specified for "file" (driver \'raw\')');
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, 'node-name': '0bad' }))).toBe("Invalid node-name: '0bad'");
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, 'read-only': 'perhaps' }))).toMatch(/^Parameter 'read-only' expects 'on' or 'off'/);
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, discard: 'sometimes' }))).toMatch(/^Parameter 'discard' expects 'ignore' or 'unmap'/);
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, cache: { writeback: true } }))).toMatch(/^Parameter 'cache.writeback' expects no such option/);
    right(g.blockdevAdd({ driver: 'memory', size: 1, 'node-name': 'n' }));
    expect(message(g.blockdevAdd({ driver: 'memory', size: 1, 'node-name': 'n' }))).toBe("Duplicate nodes with node-name='n'");
  });

  it('leaves the graph as it was when an open fails half way', () => {
    const g = new BlockGraph(newBlockEnv());
    const r = g.blockdevAdd({ driver: 'raw', offset: 8192, file: { driver: 'memory', 'node-name': 'half', size: 4096 } });
    expect(message(r)).toBe('Offset (8192) cannot be greater than size of the containing file (4096)');
    expect(g.node('half')).toBeUndefined();
    right(g.blockdevAdd({ driver: 'memory', 'node-name': 'half', size: 4096 }));
  });

  it("children inherit read-only, cache and discard flags unless they set their own", () => {
    const g = new BlockGraph(newBlockEnv());
    const top = right(
      g.blockdevAdd({ driver: 'raw', 'read-only': 'on', cache: { direct: true, 'no-flush': 'on' }, discard: 'unmap', file: { driver: 'memory', size: 512 } }),
    );
    expect(top.child('file')!.flags).toEqual({ readOnly: true, direct: true, noFlush: true, unmap: true });
    const own = right(g.blockdevAdd({ driver: 'raw', discard: 'unmap', 'file.driver': 'memory', 'file.size': 512, 'file.discard': 'ignore' }));
    expect(own.flags.unmap).toBe(true);
    expect(own.child('file')!.flags.unmap).toBe(false);
  });

  it('makes backends over nodes, by name or node', () => {
    const g = new BlockGraph(newBlockEnv());
    right(g.blockdevAdd({ driver: 'memory', 'node-name': 'm', size: 512 }));
    const blk = right(g.newBackend('m', { id: 'drive0', writeback: false }));
    expect(blk.name).toBe('m');
    expect(blk.id).toBe('drive0');
    expect(blk.writeCacheEnabled).toBe(false);
    expect(message(g.newBackend('x'))).toBe("Cannot find device='' nor node-name='x'");
    g.close();
    expect(g.node('m')).toBeUndefined();
  });
});

describe('openBlockGraph', () => {
  it('opens several drives into one graph, with unique node names', async () => {
    const { openBlockGraph } = await import('./open.js');
    const env = newBlockEnv();
    const graph = new BlockGraph(env);
    const a = right(openBlockGraph(env, { drive: { format: 'raw', 'file.driver': 'memory', 'file.size': 512, id: 'a', if: 'none', aio: undefined } }, graph));
    const b = right(openBlockGraph(env, { blockdev: { driver: 'raw', 'file.driver': 'memory', 'file.size': 512 }, backend: { id: 'b' } }, graph));
    expect(a.graph).toBe(graph);
    const names = [a.blk.root, a.blk.root.child('file')!, b.blk.root, b.blk.root.child('file')!].map((bs) => bs.nodeName);
    expect(new Set(names).size).toBe(4);
    expect(graph.backends.map((blk) => blk.id)).toEqual(['a', 'b']);
  });
});
