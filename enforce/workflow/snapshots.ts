/**
 * The known-good ruleset saved before a promotion's apply, on disk beside the data (not in Redis):
 * written once per promotion with O_EXCL and fsync *before* the rule goes live, so a worker killed
 * mid-apply, or a Redis that lost its last second of writes, can never make the new rule the
 * "known-good" one. A re-run of the apply step finds the file and reuses it.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SnapshotStore {
  /** The saved ruleset, or undefined when none was saved for this promotion. */
  get(id: string): string | undefined;
  /** Saves once; a second call keeps the first text and returns it. */
  putOnce(id: string, text: string): string;
}

export const fileSnapshots = (dir: string): SnapshotStore => {
  mkdirSync(dir, { recursive: true });
  const path = (id: string): string => join(dir, `${id}.known-good`);
  const get = (id: string): string | undefined => {
    try {
      return readFileSync(path(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  return {
    get,
    putOnce: (id, text) => {
      // Write a temp file, fsync it, then link it to its name: link fails if the name exists, so
      // the known-good file appears whole or not at all, and only the first save wins.
      const tmp = `${path(id)}.${process.pid}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path(id));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        unlinkSync(tmp);
      }
      const dfd = openSync(dir, 'r');
      try { fsyncSync(dfd); } finally { closeSync(dfd); }
      return get(id)!;
    },
  };
};
