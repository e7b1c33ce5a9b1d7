import type { IncomingHttpHeaders } from 'node:http';
import { EXTENSION_ID_RULE, isExtensionId } from '../extensions/model.js';
import type { ExtensionRegistry, ResolvedExtension } from '../extensions/registry.js';
import { AppError, toAppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { isNewerRecord } from '../store/json.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { dispatch, type CekContext, type CekResponder } from './dispatch.js';
import { cekResponse, simpleSpeech } from './response.js';
import type { CekRequest, CekResponseBody } from './types.js';

/** 256 KiB: far above any real CEK request (about 1.5 KB), low enough to refuse floods early. */
export const CEK_BODY_LIMIT = 256 * 1024;
/** CEK drops answers after 8 s; the answer must leave within this many ms of the request's first byte. */
export const CEK_DEADLINE_MS = 7_500;

/** Called once the response is written, with its status and (for a refusal) its error code: usage counting. */
export type GateFinish = (status: number, code: string | undefined) => void;

/**
 * A check run before the request body is read, e.g. the gateway's API key and quotas; it throws an
 * AppError to refuse the request, and may return a function called with the final status.
 */
export type CekGate = (headers: IncomingHttpHeaders, ext: ResolvedExtension, call: GateCall) => Promise<void | GateFinish>;

/** What the gates know of a call besides its headers. */
export interface GateCall {
  /** Sent by this instance's own test sender for a test user (`PipelineDeps.isTestUserCall`): not counted, not held to quotas. */
  readonly testUser: boolean;
}

const ORDINARY_CALL: GateCall = Object.freeze({ testUser: false });

/**
 * What differs between the doors CEK requests come through (the voice route, the messenger
 * routes): how the raw body is verified and what CEK request it stands for. Both throw AppErrors.
 */
export interface CekDoor<M> {
  verify(raw: Buffer, headers: IncomingHttpHeaders, ext: ResolvedExtension): void;
  /** The CEK request to dispatch, and the door's own message (what it needs to shape its reply). */
  parse(raw: Buffer, ext: ResolvedExtension): { cek: CekRequest; message: M };
}

export interface PipelineInput {
  extensionId: string;
  requestId: string;
  headers: IncomingHttpHeaders;
  /** Reads the raw body (only once the gates have admitted the request). */
  readBody(): Promise<Buffer>;
  /** Epoch ms when the request arrived: CEK's deadline counts from here. */
  receivedAt: number;
}

/** An extension that passed the gates, and how to report the call's end to them. */
export interface Admitted {
  readonly ext: ResolvedExtension;
  /** Call exactly once, after the response is written. */
  finish(status: number, code: string | undefined): void;
}

/** A CEK answer: what was asked, the door's own message, and the CEK response body. */
export interface PipelineAnswer<M> {
  readonly cek: CekRequest;
  readonly message: M;
  readonly body: CekResponseBody;
}

/** The end of one pipeline run: an answer (200), or the refusal to send. */
export type PipelineResult<M> = ({ readonly ok: true; readonly status: 200; readonly answer: PipelineAnswer<M> } | { readonly ok: false; readonly status: number; readonly error: AppError }) & {
  /** The answer's outcome (`action`, `welcome`, ...) or the refusal's code: log line and metrics. */
  readonly outcome: string;
  /** The cause of an internal error (logged by the door, never sent). */
  readonly failure: unknown;
  /** Fields for the door's log line (extension, request type, intent). */
  readonly fields: Record<string, unknown>;
  /** Reports the written response to the gates (usage); call once. */
  finish(status: number): void;
};

export interface PipelineDeps {
  registry: ExtensionRegistry;
  log: Logger;
  metrics: Metrics;
  /** In order; the first answer wins, the built-in defaults answer when none does. */
  responders: readonly CekResponder[];
  gates: readonly CekGate[];
  /** Whether a request id is the test sender's call for a test user (the tap knows); none by default. */
  isTestUserCall?: (requestId: string) => boolean;
}

export interface CekPipeline {
  /** The extension of an invoke URL; throws `unknown_extension`. */
  resolve(extensionId: string): Promise<ResolvedExtension>;
  /** resolve → gates; throws an AppError (unknown extension, a gate's refusal). */
  admit(extensionId: string, headers: IncomingHttpHeaders, call?: GateCall): Promise<Admitted>;
  /** resolve → gates → body → verify → parse → applicationId → dispatch (spoken error on failure). Never throws. */
  run<M>(door: CekDoor<M>, input: PipelineInput): Promise<PipelineResult<M>>;
}

/**
 * The one CEK pipeline behind both doors (DESIGN.md section 2). The doors only translate at both
 * ends: the voice door (`voiceDoor.ts`, node's own request/response, ahead of Express) and the
 * messenger door (gateway/messengerRoutes.ts).
 */
export function createCekPipeline(deps: PipelineDeps): CekPipeline {
  const { registry, log, metrics, responders, gates } = deps;

  async function resolve(extensionId: string): Promise<ResolvedExtension> {
    // Said as the rule in words, never echoed back as the (possibly percent-encoded) path it came as.
    if (!isExtensionId(extensionId)) throw new AppError('invalid_extension_id', EXTENSION_ID_RULE);
    const ext = await registry.resolve(extensionId);
    if (ext === undefined) throw new AppError('unknown_extension', `No extension with ID "${extensionId.slice(0, 255)}".`);
    return ext;
  }

  async function admit(extensionId: string, headers: IncomingHttpHeaders, call: GateCall = ORDINARY_CALL): Promise<Admitted> {
    const ext = await resolve(extensionId);
    const finishers: GateFinish[] = [];
    const finish = (status: number, code: string | undefined): void => {
      for (const f of finishers) f(status, status >= 400 ? code : undefined);
    };
    try {
      for (const gate of gates) {
        const f = await gate(headers, ext, call);
        if (f !== undefined) finishers.push(f);
      }
    } catch (err) {
      // Gates that admitted the call before a later one refused it still hear how it ended.
      const refusal = toAppError(err);
      finish(refusal.status, refusal.code);
      throw err;
    }
    return { ext, finish };
  }

  async function run<M>(door: CekDoor<M>, input: PipelineInput): Promise<PipelineResult<M>> {
    const fields: Record<string, unknown> = { extensionId: input.extensionId };
    let admitted: Admitted | undefined;
    try {
      admitted = await admit(input.extensionId, input.headers, deps.isTestUserCall?.(input.requestId) === true ? { testUser: true } : ORDINARY_CALL);
      const { ext } = admitted;
      const raw = await input.readBody();
      door.verify(raw, input.headers, ext);
      const { cek, message } = door.parse(raw, ext);
      fields['type'] = cek.type;
      if (cek.intentName !== undefined) fields['intent'] = cek.intentName;
      if (cek.applicationId !== ext.record.extensionId) {
        throw new AppError('application_id_mismatch', 'context.System.application.applicationId does not match the extension of this URL.');
      }
      const ctx: CekContext = { cek, ext, requestId: input.requestId, log, deadline: input.receivedAt + CEK_DEADLINE_MS, outcome: 'ok' };
      let body: CekResponseBody;
      let failure: unknown;
      try {
        body = await dispatch(ctx, responders);
      } catch (err) {
        // The request was genuine: the caller still gets a CEK answer (the error message), not a 5xx.
        if (isStoreUnavailable(err)) {
          // Not a bug: the store is down (its outage is logged and counted where it is detected).
          ctx.outcome = 'store_unavailable';
        } else if (isNewerRecord(err)) {
          // Not a bug either: a rolling upgrade, and a newer instance wrote a record this one must not act on.
          ctx.outcome = err.code;
          log.warn({ reqId: input.requestId, extensionId: input.extensionId, code: err.code, error: err.message }, 'a stored record is from a newer cek-gateway: upgrade this instance');
        } else {
          failure = err;
          ctx.outcome = 'internal_error';
          log.error({ reqId: input.requestId, extensionId: input.extensionId, err }, 'answering a CEK request failed');
        }
        const error = ext.say('error', cek.locale);
        body = cekResponse({ version: cek.version, speech: simpleSpeech(error.text, error.lang), shouldEndSession: true });
      }
      metrics.cekRequests.inc({ type: cek.type, outcome: ctx.outcome });
      const done = admitted;
      return { ok: true, status: 200, answer: { cek, message, body }, outcome: ctx.outcome, failure, fields, finish: (status) => done.finish(status, undefined) };
    } catch (err) {
      const error = toAppError(err);
      const done = admitted;
      return {
        ok: false,
        status: error.status,
        error,
        outcome: error.code,
        failure: error.code === 'internal_error' ? err : undefined,
        fields,
        finish: (status) => done?.finish(status, error.code),
      };
    }
  }

  return { resolve, admit, run };
}
