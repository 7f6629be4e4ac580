/**
 * The driver configurations the BlockDriver contract suite (block-driver-contract.prop.ts)
 * runs over, and what each claims. A fixture makes a fresh writable node of a given size
 * (opened with discard=unmap, in its own graph), can close and reopen the same storage,
 * and cleans up its files.
 *
 * A new driver joins with one entry. A format over a real file is one line:
 *
 *   formatFixture('qcow2 (64 KiB clusters)', 'qcow2', { cluster_size: 65536 })
 *
 * which creates the image with `createImage` (qemu-img create) and opens
 * `{ driver: format, file: { driver: 'file', filename } }`. Format entries are included
 * only when their driver is registered and takes the create options given, so the suite
 * runs today and picks up qcow2, vdi and vmdk when they land.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { blockErrorMessage } from '../../host/storage/errors.js';
import { BlockGraph, type BlockdevSpec } from '../../host/storage/graph.js';
import type { BlockDriverState } from '../../host/storage/node.js';
import { createImage } from '../../host/storage/open.js';
import { findBlockDriver } from '../../host/storage/registry.js';
import { newBlockEnv } from '../../host/storage/testing.js';

/** What a driver configuration promises; the suite checks exactly these. */
export interface DriverClaims {
  /** Reads return what was written. null-co keeps nothing (and with read-zeroes=on reads zeroes). */
  readonly keepsData: boolean;
  /**
   * After a discard: 'zeroes' — the range reads as zeroes; 'zeroes-or-old' — each byte
   * reads as zero or as what it held (QEMU's contract: discard is advisory, and formats
   * drop what is not a whole cluster).
   */
  readonly discard: 'zeroes' | 'zeroes-or-old';
  /** What was flushed survives closing the node and opening the same storage again. */
  readonly persistent: boolean;
  /** Growing the node: 'grows' (the new bytes read as zeroes) or 'ENOTSUP'. */
  readonly resize: 'grows' | 'ENOTSUP';
  /** Sizes (and resizes) the configuration takes are multiples of this (512 for image formats). */
  readonly sizeUnit: number;
}

/** A node a fixture made. */
export interface FixtureNode {
  readonly bs: BlockDriverState;
  /** Close the graph and open the same storage again (persistent fixtures; others throw). */
  reopen(): FixtureNode;
  /** Close the graph and remove the fixture's files. */
  close(): void;
}

export interface DriverFixture {
  readonly name: string;
  readonly claims: DriverClaims;
  /** A fresh writable node of `size` bytes (a multiple of claims.sizeUnit). Throws if it cannot (test code). */
  make(size: number): FixtureNode;
}

const PROTOCOL: DriverClaims = { keepsData: true, discard: 'zeroes', persistent: false, resize: 'grows', sizeUnit: 1 };
const HOST_FILE: DriverClaims = { ...PROTOCOL, persistent: true };

let scratch: string | undefined;
let seq = 0;

/** A new path in the fixtures' scratch directory (made on first use). */
export function fixturePath(name: string): string {
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-drivers-'));
  return path.join(scratch, `${seq++}-${name}`);
}

/** Remove the scratch directory (call from afterAll). */
export function removeFixtureFiles(): void {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

function check<T>(r: E.Either<import('../../host/storage/errors.js').BlockError, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what}: ${blockErrorMessage(r.left)}`);
  return r.right;
}

/** Open `spec` (discard=unmap) in a new graph; `files` are removed on close; `reopenable` says whether `spec` finds the same data again. */
function openNode(spec: BlockdevSpec, files: readonly string[], reopenable: boolean): FixtureNode {
  const graph = new BlockGraph(newBlockEnv());
  const bs = check(graph.blockdevAdd({ ...spec, discard: 'unmap' }), `open ${JSON.stringify(spec)}`);
  return {
    bs,
    reopen() {
      if (!reopenable) throw new Error(`${spec.driver}: this fixture cannot reopen its storage`);
      graph.close();
      return openNode(spec, files, reopenable);
    },
    close() {
      graph.close();
      for (const f of files) fs.rmSync(f, { force: true });
    },
  };
}

/** A fixture over storage in memory: reopening would find a new, empty node. */
function inMemory(name: string, claims: DriverClaims, spec: (size: number) => BlockdevSpec): DriverFixture {
  return { name, claims, make: (size) => openNode(spec(size), [], false) };
}

/** A fixture over a raw host file of `size` bytes. */
function onHostFile(name: string, claims: DriverClaims, spec: (filename: string) => BlockdevSpec): DriverFixture {
  return {
    name,
    claims,
    make(size) {
      const f = fixturePath('disk.raw');
      check(createImage('raw', f, size), `create ${f}`);
      return openNode(spec(f), [f], true);
    },
  };
}

/**
 * An image format over a host file, created with `createImage(format, file, size,
 * createOpts)`; undefined (left out of the table) until the driver is registered and
 * takes every option in `createOpts`. Claims default to what QEMU promises for a format:
 * data kept and persistent, discard advisory, resize if the driver has one, sizes in
 * 512-byte sectors.
 */
export function formatFixture(name: string, format: string, createOpts: Readonly<Record<string, unknown>> = {}, claims: Partial<DriverClaims> = {}): DriverFixture | undefined {
  const drv = findBlockDriver(format);
  if (!drv?.create || !Object.keys(createOpts).every((k) => k in (drv.createOptions ?? {}))) return undefined;
  const all: DriverClaims = { keepsData: true, discard: 'zeroes-or-old', persistent: true, resize: drv.truncate ? 'grows' : 'ENOTSUP', sizeUnit: 512, ...claims };
  return {
    name,
    claims: all,
    make(size) {
      const f = fixturePath(`disk.${format}`);
      check(createImage(format, f, size, createOpts), `create ${format} ${f}`);
      return openNode({ driver: format, file: { driver: 'file', filename: f } }, [f], true);
    },
  };
}

/** Every configuration the contract suite runs over (those whose drivers are registered). */
export const DRIVER_FIXTURES: readonly DriverFixture[] = [
  inMemory('memory', PROTOCOL, (size) => ({ driver: 'memory', size })),
  inMemory('raw over memory', PROTOCOL, (size) => ({ driver: 'raw', file: { driver: 'memory', size } })),
  onHostFile('file', HOST_FILE, (filename) => ({ driver: 'file', filename })),
  onHostFile('raw over file', HOST_FILE, (filename) => ({ driver: 'raw', file: { driver: 'file', filename } })),
  inMemory('null-co read-zeroes=on', { ...PROTOCOL, keepsData: false, resize: 'ENOTSUP' }, (size) => ({ driver: 'null-co', size, 'read-zeroes': 'on' })),
  inMemory('raw over blkdebug (no rules) over memory', PROTOCOL, (size) => ({ driver: 'raw', file: { driver: 'blkdebug', image: { driver: 'memory', size } } })),
  // A discard smaller than its align is dropped (QEMU's blkdebug says ENOTSUP): old data may stay.
  inMemory('blkdebug align=512 max-transfer=4096 over memory', { ...PROTOCOL, discard: 'zeroes-or-old', sizeUnit: 512 }, (size) => ({
    driver: 'blkdebug',
    align: 512,
    'max-transfer': 4096,
    image: { driver: 'memory', size },
  })),
  // blkverify has no discard (ignored: old data stays) and no resize.
  inMemory('blkverify (test: memory, raw: memory)', { ...PROTOCOL, discard: 'zeroes-or-old', resize: 'ENOTSUP' }, (size) => ({
    driver: 'blkverify',
    raw: { driver: 'memory', size },
    test: { driver: 'memory', size },
  })),
  formatFixture('qcow2 (64 KiB clusters)', 'qcow2'),
  formatFixture('qcow2 (512-byte clusters)', 'qcow2', { cluster_size: 512 }),
  formatFixture('vdi', 'vdi'),
  formatFixture('vmdk', 'vmdk'),
].filter((f): f is DriverFixture => f !== undefined);
