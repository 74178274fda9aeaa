/**
 * Which TensorFlow.js backend runs the models: the native `@tensorflow/tfjs-node` ('tensorflow')
 * when it is installed, else `@tensorflow/tfjs-backend-wasm` ('wasm', with SIMD where the runtime
 * has it; Node has no wasm threads without a worker pool the package does not start), else the
 * pure JavaScript 'cpu' backend. tfjs-node is an optional peer dependency, not installed by
 * default: its install downloads libtensorflow, which not every machine can fetch.
 *
 * The backend is global to the process (TensorFlow.js keeps one engine). Training is seeded and
 * byte-for-byte deterministic on 'cpu'; 'wasm' and 'tensorflow' give the same scores within
 * `BACKEND_TOLERANCE` (test/unit/models/backend.test.ts).
 */
import { PipelineError } from '../core/errors.ts';
import { tf } from './tf.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Largest difference between two backends' scores of one window (scores are rounded to 4 digits). */
export const BACKEND_TOLERANCE = 0.002;

/** The npm package that provides each backend ('cpu' comes with @tensorflow/tfjs). */
export const BACKEND_PACKAGES: Record<BackendName, string> = {
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** Loads a module by specifier; injected in tests to stand for a package that is or is not installed. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

const importModule: ModuleLoader = (specifier) => import(specifier);

export interface BackendInfo {
  name: BackendName;
  /** wasm only: SIMD instructions in use. */
  simd?: boolean;
  /** wasm only: a thread pool in use. */
  threads?: boolean;
  /** Backends tried before this one, each with why it was not used. */
  skipped: { name: BackendName; reason: string }[];
}

let current: BackendInfo | undefined;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);

/** Makes one backend current, or says why it cannot be. */
const tryBackend = async (name: BackendName, load: ModuleLoader): Promise<{ ok: true; info: BackendInfo } | { ok: false; reason: string }> => {
  try {
    if (name !== 'cpu' && !tf.findBackendFactory(name)) await load(BACKEND_PACKAGES[name]);
  } catch (e) {
    return { ok: false, reason: `${BACKEND_PACKAGES[name]} is not installed (${firstLine(e)})` };
  }
  if (!tf.findBackendFactory(name)) return { ok: false, reason: `${BACKEND_PACKAGES[name]} loaded but registered no '${name}' backend` };
  try {
    if (!(await tf.setBackend(name))) return { ok: false, reason: `the '${name}' backend failed to initialise` };
    await tf.ready();
  } catch (e) {
    return { ok: false, reason: `the '${name}' backend failed to initialise (${firstLine(e)})` };
  }
  const info: BackendInfo = { name, skipped: [] };
  if (name === 'wasm') {
    info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    info.threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  }
  return { ok: true, info };
};

/**
 * Makes a backend current: `auto` takes the first of tensorflow, wasm, cpu that works; a named one
 * must work or it is a `config_invalid` error that says how to get it. Returns what is in use and
 * what was skipped. `load` resolves the optional packages (tests inject it).
 */
export const useBackend = async (choice: BackendChoice = 'auto', load: ModuleLoader = importModule): Promise<BackendInfo> => {
  const order: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const r = await tryBackend(name, load);
    if (r.ok) {
      current = { ...r.info, skipped };
      return current;
    }
    skipped.push({ name, reason: r.reason });
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new PipelineError('config_invalid', `backend "${choice}" is not available here (${why}); use --backend auto, or install ${choice === 'auto' ? '@tensorflow/tfjs' : BACKEND_PACKAGES[choice as BackendName]} with npm`, { backend: choice });
};

/** The backend in use (choosing `auto` on first use). */
export const ensureBackend = async (): Promise<BackendInfo> => current ?? useBackend('auto');

/** One line for logs and reports: 'wasm (SIMD, no threads)'. */
export const backendText = (b: BackendInfo): string =>
  b.name === 'wasm' ? `wasm (${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ? 'threads' : 'no threads'})` : b.name;
