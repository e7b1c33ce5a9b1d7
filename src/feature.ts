import type { Router } from 'express';
import type { CekGate } from './cek/pipeline.js';
import type { CekResponder } from './cek/dispatch.js';
import type { CekPipeline } from './cek/pipeline.js';

/**
 * What a feature module's `install(core, deps)` gives the instance. Everything is handed over at
 * install time; `createServices` composes the features in the order `features.ts` lists them.
 * Admin API routes and pages are not here: only `app.ts` imports `admin/` (DESIGN.md section 2),
 * and it mounts them with the feature's typed service.
 */
export interface Feature {
  readonly name: string;
  /** Its part in answering CEK requests, in order (the instance runs every feature's in feature order). */
  readonly responders?: readonly CekResponder[];
  /** Checks before a CEK request's body is read (API keys, quotas). */
  readonly gates?: readonly CekGate[];
  /** Routes mounted at the root without admin auth; given the CEK pipeline for doors of its own. */
  publicRouter?(pipeline: CekPipeline): Router;
  /** Cleans up what a deleted extension left in the feature's own store keys. */
  onExtensionDeleted?(extensionId: string): Promise<void>;
  /** Called on stop, in reverse order of the features. */
  stop?(): Promise<void>;
}
