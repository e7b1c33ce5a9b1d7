import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, toAppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { observeRequest } from '../http/observe.js';
import { requestIdOf } from '../http/requestId.js';
import { sendError, sendJson } from '../http/respond.js';
import type { ExtensionRegistry, ResolvedExtension } from '../extensions/registry.js';
import { readBody } from '../http/readBody.js';
import { dispatch, type CekContext, type CekResponder } from './dispatch.js';
import { cekResponse, simpleSpeech } from './response.js';
import { parseCekRequest } from './parse.js';
import { verifyCekRequest } from './verify.js';

/** 256 KiB: far above any real CEK request (about 1.5 KB), low enough to refuse floods early. */
export const CEK_BODY_LIMIT = 256 * 1024;
/** CEK drops answers after 8 s; the answer must leave within this many ms of the request's first byte. */
export const CEK_DEADLINE_MS = 7_500;

/**
 * Checks run before verification, e.g. API keys and quotas of the gateway; they throw an AppError
 * to refuse the request. A gate may return a function that is called with the final HTTP status
 * (and the error code of a refused request) once the response is written (usage counting).
 */
export type CekGate = (req: IncomingMessage, ext: ResolvedExtension) => Promise<void | ((status: number, code: string | undefined) => void)>;

export interface CekHandlerDeps {
  registry: ExtensionRegistry;
  publicKey: KeyObject;
  log: Logger;
  metrics: Metrics;
  responders: readonly CekResponder[];
  gates?: readonly CekGate[];
}

/**
 * `POST /cek/:extensionId`, on node's own request/response (it runs ahead of Express, see
 * PERFORMANCE.md): extension → gates → raw body → signatures → parse → applicationId → dispatch.
 */
export function createCekHandler(deps: CekHandlerDeps) {
  return async function handleCek(req: IncomingMessage, res: ServerResponse, extensionId: string): Promise<void> {
    const startedAt = process.hrtime.bigint();
    // CLOVA's 8 s count from the request's first byte, not from when its body was read and verified.
    const arrivedAt = Date.now();
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const fields: Record<string, unknown> = { extensionId };
    let status = 200;
    let outcome = 'ok';
    let failure: unknown;
    const finishers: Array<(status: number, code: string | undefined) => void> = [];
    try {
      // Handle the requests of one event-loop turn together, after its I/O callbacks: at 32
      // connections this measured 10-20 % less CPU per request (their forwards and replies are
      // written in batches), at one connection no added latency (bench/RESULTS.md, "batching").
      await new Promise<void>((resolve) => setImmediate(resolve));
      const ext = await deps.registry.resolve(extensionId);
      if (ext === undefined) throw new AppError('unknown_extension', `No extension with ID "${extensionId.slice(0, 255)}".`);
      for (const gate of deps.gates ?? []) {
        const finish = await gate(req, ext);
        if (finish !== undefined) finishers.push(finish);
      }
      const raw = await readBody(req, CEK_BODY_LIMIT);
      verifyCekRequest(raw, req.headers, ext.record.verification, deps.publicKey, () => ext.liveSecrets());
      const cek = parseCekRequest(raw);
      fields['type'] = cek.type;
      if (cek.intentName !== undefined) fields['intent'] = cek.intentName;
      if (cek.applicationId !== ext.record.extensionId) {
        throw new AppError('application_id_mismatch', 'context.System.application.applicationId does not match the extension of this URL.');
      }
      const ctx: CekContext = {
        cek,
        ext,
        requestId,
        log: deps.log,
        deadline: arrivedAt + CEK_DEADLINE_MS,
        outcome: 'ok',
      };
      let body;
      try {
        body = await dispatch(ctx, deps.responders);
      } catch (err) {
        // The request was genuine: CLOVA still gets a CEK answer (the error message), not a 500.
        failure = err;
        ctx.outcome = 'internal_error';
        deps.log.error({ reqId: requestId, extensionId, err }, 'answering a CEK request failed');
        body = cekResponse({ version: cek.version, speech: simpleSpeech(ext.messages.error, ext.record.language), shouldEndSession: true });
      }
      outcome = ctx.outcome;
      deps.metrics.cekRequests.inc({ type: cek.type, outcome });
      sendJson(res, 200, body);
    } catch (err) {
      const appErr = toAppError(err);
      status = appErr.status;
      outcome = appErr.code;
      if (appErr.code === 'internal_error') failure = err;
      if (appErr.code === 'payload_too_large' || appErr.code === 'request_timeout') res.setHeader('connection', 'close');
      sendError(res, appErr, requestId);
    } finally {
      for (const finish of finishers) finish(status, status >= 400 ? outcome : undefined);
      observeRequest(deps.log, deps.metrics, {
        requestId,
        route: '/cek/:extensionId',
        method: 'POST',
        status,
        outcome,
        startedAt,
        fields,
        err: failure,
      });
    }
  };
}
