import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { observeRequest } from '../http/observe.js';
import { readBody } from '../http/readBody.js';
import { requestIdOf } from '../http/requestId.js';
import { sendError, sendJson } from '../http/respond.js';
import { parseCekRequest } from './parse.js';
import { CEK_BODY_LIMIT, type CekDoor, type CekPipeline } from './pipeline.js';
import type { CekRequest } from './types.js';
import { verifyCekRequest } from './verify.js';

/** Voice requests: CEK's signature and/or the Chatbot Secret over the raw body, then the CEK JSON itself. */
export function voiceDoor(publicKey: KeyObject): CekDoor<CekRequest> {
  return {
    verify: (raw, headers, ext) => verifyCekRequest(raw, headers, ext.record.verification, publicKey, () => ext.liveSecrets()),
    parse: (raw) => {
      const cek = parseCekRequest(raw);
      return { cek, message: cek };
    },
  };
}

export interface VoiceHandlerDeps {
  pipeline: CekPipeline;
  publicKey: KeyObject;
  log: Logger;
  metrics: Metrics;
}

/**
 * `POST /cek/:extensionId` on node's own request/response: it runs ahead of Express (PERFORMANCE.md),
 * translating the HTTP request into a pipeline run and the run's result into the response.
 */
export function createVoiceHandler(deps: VoiceHandlerDeps) {
  const door = voiceDoor(deps.publicKey);
  return async function handleVoice(req: IncomingMessage, res: ServerResponse, extensionId: string): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const receivedAt = Date.now();
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    // Handle the requests of one event-loop turn together, after its I/O callbacks: at 32
    // connections this measured 10-20 % less CPU per request (their forwards and replies are
    // written in batches), at one connection no added latency (bench/RESULTS.md, "batching").
    await new Promise<void>((resolve) => setImmediate(resolve));
    const result = await deps.pipeline.run(door, {
      extensionId,
      requestId,
      headers: req.headers,
      readBody: () => readBody(req, CEK_BODY_LIMIT),
      receivedAt,
    });
    if (result.ok) {
      sendJson(res, 200, result.answer.body);
    } else {
      // readBody's 413 and 408 carry `connection: close` (the unread rest of the body).
      sendError(res, result.error, requestId);
    }
    result.finish(result.status);
    observeRequest(deps.log, deps.metrics, {
      requestId,
      route: '/cek/:extensionId',
      method: 'POST',
      status: result.status,
      outcome: result.outcome,
      startedAt,
      fields: result.fields,
      err: result.failure,
    });
  };
}
