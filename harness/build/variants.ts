import { join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { projectPaths } from '../common/paths.js';

/** A kernel build variant: its own fragments on top of the project's, its own build folder. */
export interface VariantRecord {
  readonly name: string;
  readonly summary: string;
  /** Fragments merged after the project's and the series' own. */
  readonly fragments: readonly string[];
}

export const variants: Readonly<Record<string, VariantRecord>> = {
  default: { name: 'default', summary: 'the minimal kernel the suite needs', fragments: [] },
  debug: {
    name: 'debug',
    summary: 'KASAN, lockdep and RCU checks with perf events, DEBUG_VM, DEBUG_PAGEALLOC, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, fault injection',
    fragments: [join(projectPaths.configFragments, 'debug.config')],
  },
  selftests: {
    name: 'selftests',
    summary: "what the kernel's ftrace selftests need (kprobes, uprobes, histograms, synthetic events, function graph, latency tracers); rbmap regress",
    fragments: [join(projectPaths.configFragments, 'ftrace-selftests.config')],
  },
};

export function variantNamed(name: string): VariantRecord {
  const variant = variants[name];
  if (variant === undefined) {
    throw new RbmapError('E_USAGE', `unknown --variant ${name}`, { hint: `known: ${Object.keys(variants).join(', ')}` });
  }
  return variant;
}
