import type { ArchRecord } from './arch.js';
import { arm64 } from './arm64.js';
import { x86_64 } from './x86_64.js';

export type { ArchRecord } from './arch.js';
export const architectures: Record<string, ArchRecord> = { x86_64, arm64 };
