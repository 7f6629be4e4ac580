/**
 * The path selectors by name (dm_register_path_selector): what `path_selector` in
 * multipath.conf may name.
 */
import type { PathSelector } from './path-selector.js';
import { roundRobin } from './round-robin.js';
import { serviceTime } from './service-time.js';

export type PathSelectorName = 'round-robin' | 'service-time';

export const PATH_SELECTORS: Readonly<Record<PathSelectorName, <P>() => PathSelector<P>>> = {
  'round-robin': () => roundRobin(),
  'service-time': () => serviceTime(),
};
