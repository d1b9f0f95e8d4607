/**
 * The models a server serves, by name, each at one version at a time. A version is a loaded
 * model file: its classifier, its preprocessing and a counter ("1" at start, one more per
 * swap). Hot reload: when a model's file is replaced (its folder is watched, so a rename onto
 * it is seen) or on SIGHUP, the new file is loaded, warmed up with one prediction and swapped
 * in at once. Requests and sessions hold the version they began with (`acquire`/`release`);
 * an old version is disposed when the last of them lets go. A file that fails to load leaves
 * the old version serving, and is logged once.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SequenceClassifier } from '../classifier/classifier';
import { Preprocessor } from '../data/preprocessing';
import { checkRecordSchema, type RecordSchema } from '../data/record-schema';
import type { BatchingOptions } from '../classifier/micro-batcher';

export interface ModelSpec {
  name: string;
  path: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  model: SequenceClassifier;
  /** Records' preprocessing (tokenizer, normalisation), or null for a model without one. */
  preprocessor: Preprocessor | null;
  /** Label names, or "0".."C-1". */
  labels: string[];
  /** How records name their text, label and id: the schema the model was trained with, ids
   * under "id" unless it says otherwise. */
  schema: RecordSchema;
  /** Requests and sessions holding this version. */
  holders: number;
  retired: boolean;
}

export interface RegistryEvents {
  swapped(name: string, version: string): void;
  failed(name: string, path: string, error: Error): void;
}

/** Loads a model file and warms it up (one prediction: workspaces, packed kernels). */
async function loadVersion(spec: ModelSpec, version: string, batching: BatchingOptions): Promise<ModelVersion> {
  const model = await SequenceClassifier.load(spec.path);
  try {
    const preprocessor = model.preprocessing ? Preprocessor.fromJSON(model.preprocessing) : null;
    const input = model.config.input;
    await model.predictProba(input.type === 'dense' ? [[new Array(input.features).fill(0)]] : [[1]]);
    model.setBatching(batching);
    const labels = model.labels ?? Array.from({ length: model.config.classes }, (_, c) => String(c));
    const schema = { idField: 'id', ...checkRecordSchema((model.preprocessing as { source?: unknown } | null)?.source, "the model's record schema") };
    return { name: spec.name, version, model, preprocessor, labels, schema, holders: 0, retired: false };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The file a path names now (through links): its inode, size and modification time. */
function stampOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export class ModelRegistry {
  readonly #specs = new Map<string, ModelSpec>();
  readonly #current = new Map<string, ModelVersion>();
  readonly #counters = new Map<string, number>();
  readonly #watchers: FSWatcher[] = [];
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #loading = new Map<string, Promise<void>>();
  /** What each model's path named when last looked at (stampOf). */
  readonly #stamps = new Map<string, string>();

  private constructor(
    private readonly batching: (name: string) => BatchingOptions,
    private readonly events: RegistryEvents,
  ) {}

  /** Loads every model (any failure here is the caller's: the server does not start). */
  static async open(specs: ModelSpec[], batching: (name: string) => BatchingOptions, events: RegistryEvents): Promise<ModelRegistry> {
    const registry = new ModelRegistry(batching, events);
    try {
      for (const spec of specs) {
        const resolved = { name: spec.name, path: resolve(spec.path) };
        registry.#specs.set(spec.name, resolved);
        registry.#counters.set(spec.name, 1);
        registry.#current.set(spec.name, await loadVersion(resolved, '1', batching(spec.name)));
      }
    } catch (e) {
      registry.close();
      throw e;
    }
    return registry;
  }

  get names(): string[] {
    return [...this.#current.keys()];
  }

  /** The version serving now, without holding it (metadata), or undefined. */
  peek(name: string): ModelVersion | undefined {
    return this.#current.get(name);
  }

  /** The version serving now, held until `release`. */
  acquire(name: string): ModelVersion | undefined {
    const v = this.#current.get(name);
    if (v) v.holders++;
    return v;
  }

  /** Holds a version already held elsewhere (a session's) for one more holder. */
  hold(v: ModelVersion): ModelVersion {
    v.holders++;
    return v;
  }

  release(v: ModelVersion): void {
    v.holders--;
    if (v.retired && v.holders === 0) v.model.dispose();
  }

  /**
   * Watches each model file's folder: any change there (a rename onto the file, an edit, or a
   * Kubernetes ConfigMap's swap of the `..data` link the file points through) makes the file
   * be looked at again once the folder is quiet, and reloaded if it is another file now.
   */
  watch(): void {
    const byFolder = new Map<string, ModelSpec[]>();
    for (const spec of this.#specs.values()) {
      this.#stamps.set(spec.name, stampOf(spec.path));
      byFolder.set(dirname(spec.path), [...(byFolder.get(dirname(spec.path)) ?? []), spec]);
    }
    for (const [folder, specs] of byFolder) {
      const watcher = watch(folder, () => {
        for (const spec of specs) this.#schedule(spec.name);
      });
      watcher.on('error', () => {}); // a folder removed: keep serving what is loaded
      this.#watchers.push(watcher);
    }
  }

  /** Reloads every model (SIGHUP). */
  reloadAll(): Promise<void[]> {
    return Promise.all(this.names.map((name) => this.reload(name)));
  }

  #schedule(name: string): void {
    clearTimeout(this.#pending.get(name));
    // A writer may take a few events to finish (truncate, write, rename): look once it is quiet.
    const check = () => {
      const stamp = stampOf(this.#specs.get(name)!.path);
      if (stamp === this.#stamps.get(name)) return;
      this.#stamps.set(name, stamp);
      void this.reload(name);
    };
    this.#pending.set(name, setTimeout(check, 150).unref());
  }

  /** Loads the model's file again, warms it up and swaps it in; one reload at a time per model. */
  reload(name: string): Promise<void> {
    const previous = this.#loading.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const spec = this.#specs.get(name)!;
      const version = String(this.#counters.get(name)! + 1);
      let loaded: ModelVersion;
      try {
        loaded = await loadVersion(spec, version, this.batching(name));
      } catch (e) {
        this.events.failed(name, spec.path, e as Error);
        return;
      }
      this.#counters.set(name, Number(version));
      const old = this.#current.get(name);
      this.#current.set(name, loaded);
      if (old) {
        old.retired = true;
        if (old.holders === 0) old.model.dispose();
      }
      this.events.swapped(name, version);
    });
    this.#loading.set(name, next);
    return next;
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    for (const t of this.#pending.values()) clearTimeout(t);
    for (const v of this.#current.values()) {
      v.retired = true;
      if (v.holders === 0) v.model.dispose();
    }
  }
}
