import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestFolderError } from '../../shared/errors.ts';
import type { ClusterView } from '../view.ts';
import { isManifestFile, type ManifestObject, type ManifestProblem, parseManifestText } from './parse.ts';
import { toClusterView } from './view.ts';

/** One read of the folder: the view to build, and the problems found since the previous read. */
export interface FolderLoad {
  view: ClusterView;
  /** Only new problems: a broken file is reported when it changes, not on every later reload. */
  problems: ManifestProblem[];
  files: number;
  objects: number;
  ignored: number;
}

export interface ManifestFolderOptions {
  dir: string;
  /** Called after every reload that a change in the folder triggered (not for `load()` itself). */
  onChange?: (load: FolderLoad) => void;
  /** The watcher or a reload failed (folder removed, unreadable); the last good view stays in place. */
  onError?: (err: Error) => void;
  /** Quiet time after the last file event before reloading; editors write a file in several steps. */
  debounceMs?: number;
}

/**
 * The standalone source: the objects of every *.yaml, *.yml and *.json file in one folder (not recursive).
 * A file that fails to parse keeps its last good objects, so a half-saved edit never empties the config.
 */
export class ManifestFolder {
  readonly #dir: string;
  readonly #onChange: (load: FolderLoad) => void;
  readonly #onError: (err: Error) => void;
  readonly #debounceMs: number;
  /** file name -> text last read, and the objects of its last successful parse. */
  readonly #texts = new Map<string, string>();
  readonly #good = new Map<string, ManifestObject[]>();
  #previousViewProblems = new Set<string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: ManifestFolderOptions) {
    this.#dir = options.dir;
    this.#onChange = options.onChange ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#debounceMs = options.debounceMs ?? 100;
  }

  /** Reads the folder once; only changed files are parsed again. Rejects when the folder cannot be read. */
  async load(): Promise<FolderLoad> {
    let names: string[];
    try {
      names = (await readdir(this.#dir, { withFileTypes: true }))
        .filter((d) => d.isFile() && isManifestFile(d.name))
        .map((d) => d.name)
        .sort();
    } catch (err) {
      throw new ManifestFolderError(`cannot read manifest folder ${this.#dir}: ${(err as Error).message}`);
    }
    const problems: ManifestProblem[] = [];
    for (const name of [...this.#texts.keys()]) {
      if (!names.includes(name)) {
        this.#texts.delete(name);
        this.#good.delete(name);
      }
    }
    for (const name of names) {
      let text: string;
      try {
        text = await readFile(join(this.#dir, name), 'utf8');
      } catch (err) {
        // Removed between readdir and read: the next event reloads again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        problems.push({ file: name, message: `cannot read: ${(err as Error).message}` });
        continue;
      }
      if (this.#texts.get(name) === text) continue;
      this.#texts.set(name, text);
      const parsed = parseManifestText(name, text);
      if (parsed.problems.length > 0) problems.push(...parsed.problems);
      else this.#good.set(name, parsed.objects);
    }
    const sorted = toClusterView(this.#good);
    const viewProblems = new Set(sorted.problems.map((p) => JSON.stringify(p)));
    for (const p of sorted.problems) if (!this.#previousViewProblems.has(JSON.stringify(p))) problems.push(p);
    this.#previousViewProblems = viewProblems;
    let objects = 0;
    for (const list of this.#good.values()) objects += list.length;
    return { view: sorted.view, problems, files: names.length, objects, ignored: sorted.ignored };
  }

  /** Loads the folder, then watches it and calls `onChange` after each burst of changes. */
  async start(): Promise<FolderLoad> {
    const first = await this.load();
    this.#watcher = watch(this.#dir, { persistent: true }, () => this.#schedule());
    this.#watcher.on('error', (err) => this.#onError(err));
    return first;
  }

  /** Stops watching; a reload in progress finishes but reports nothing. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#reloading;
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#reload(), this.#debounceMs);
  }

  #reload(): void {
    if (this.#reloading) {
      this.#again = true;
      return;
    }
    this.#reloading = this.load()
      .then((result) => {
        if (!this.#closed) this.#onChange(result);
      })
      .catch((err: Error) => {
        if (!this.#closed) this.#onError(err);
      })
      .finally(() => {
        this.#reloading = undefined;
        if (this.#again) {
          this.#again = false;
          this.#schedule();
        }
      });
  }
}
