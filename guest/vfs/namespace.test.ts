/** Path normalisation and mount lookup. */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { MountedFs } from './mounted-fs.js';
import { Namespace } from './namespace.js';

const fakeMount = (dir: string): MountedFs => ({ dir, devPath: `/dev/${dir.length}` }) as unknown as MountedFs;

describe('Namespace', () => {
  it('normalises slashes, "." and ".." lexically, and keeps a trailing slash', () => {
    const n = (p: string) => Namespace.normalise(p);
    expect(n('/a//b/./c/')).toEqual(E.right({ path: '/a/b/c', trailingSlash: true, components: 4 }));
    expect(n('/a/b/../../..')).toEqual(E.right({ path: '/', trailingSlash: false, components: 5 }));
    expect(n('rel/x')).toEqual(E.right({ path: '/rel/x', trailingSlash: false, components: 2 }));
    expect(n('/a/.')).toEqual(E.right({ path: '/a', trailingSlash: true, components: 2 }));
    expect(n('')).toEqual(E.left('ENOENT'));
    expect(n('/a\0b')).toEqual(E.left('EINVAL'));
    expect(n('/' + 'x'.repeat(5000))).toEqual(E.left('ENAMETOOLONG'));
  });

  it('the longest mount point that is a prefix decides; the rest is the root file system', () => {
    const ns = new Namespace();
    const mnt = fakeMount('/mnt');
    const sub = fakeMount('/mnt/sub');
    ns.add(mnt);
    ns.add(sub);
    const r = (p: string) => {
      const x = ns.resolve(p);
      if (E.isLeft(x)) return x.left;
      return x.right.kind === 'rootfs' ? `rootfs ${x.right.path}` : `${x.right.mnt.dir} ${x.right.rel}`;
    };
    expect(r('/mnt')).toBe('/mnt /');
    expect(r('/mnt/a/b/')).toBe('/mnt /a/b/');
    expect(r('/mnt/sub/x')).toBe('/mnt/sub /x');
    expect(r('/mnt/subway')).toBe('/mnt /subway');
    expect(r('/mnt/sub/..')).toBe('/mnt /');
    expect(r('/mnt/..')).toBe('rootfs /');
    expect(ns.mountsBelow('/mnt')).toEqual([sub]);
    expect(ns.rootMkdir('/mnt')).toEqual(E.left('EEXIST'));
    expect(ns.rootMkdir('/a/b')).toEqual(E.left('ENOENT'));
    expect(ns.rootMkdir('/a')).toEqual(E.right(undefined));
    expect(ns.rootChildren('/').sort()).toEqual(['a', 'dev', 'mnt']);
    expect(ns.rootRmdir('/mnt')).toEqual(E.left('EBUSY'));
    expect(ns.rootRmdir('/')).toEqual(E.left('EBUSY'));
    expect(ns.rootRmdir('/a')).toEqual(E.right(undefined));
  });
});
