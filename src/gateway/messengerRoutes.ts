import { Router, type Request, type RequestHandler } from 'express';
import { CEK_BODY_LIMIT, type CekDoor, type CekPipeline } from '../cek/pipeline.js';
import { CHATBOT_SIGNATURE_HEADER, verifyChatbotSignature } from '../cek/verify.js';
import { AppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { readBody } from '../http/readBody.js';
import { constantTimeEqual } from '../security/constantTime.js';
import { sha256Hex } from '../security/hash.js';
import { cekRequestFor, chatbotResponse, parseChatbotMessage, type ChatbotMessage } from './chatbot.js';
import { compiledGatewayOf } from './gateway.js';

export interface MessengerDeps {
  /** The same pipeline (gates, verification order, responders, spoken-error fallback) as voice. */
  pipeline: CekPipeline;
  log: Logger;
}

/** The keyboard of a free-text chat (KakaoTalk's auto-reply API shape, cek-protocol.md section 8.3). */
const KEYBOARD = { type: 'text' } as const;

/** Messenger requests: only the Chatbot Secret signs them; a v2 message stands for a CEK request. */
const messengerDoor: CekDoor<ChatbotMessage> = {
  verify: (raw, headers, ext) => {
    const signature = headers[CHATBOT_SIGNATURE_HEADER];
    const sig = Array.isArray(signature) ? signature[0] : signature;
    if (sig === undefined || sig.trim() === '') throw new AppError('missing_signature', 'X-NCP-CHATBOT_SIGNATURE is required.');
    if (!verifyChatbotSignature(raw, sig, ext.liveSecrets())) throw new AppError('invalid_signature', 'The request signature does not match the request body.');
  },
  parse: (raw, ext) => {
    const message = parseChatbotMessage(raw);
    return { cek: cekRequestFor(message, ext.record.extensionId), message };
  },
};

/**
 * The messenger routes of `chatbot_messenger_swagger.json` under `/chatbot/:extensionId`
 * (DESIGN.md section 8): the messenger door of the CEK pipeline. Only the translation is here; the
 * API key and usage plan, the signature, the responders and the fallback are the pipeline's.
 */
export function messengerRoutes(deps: MessengerDeps): Router {
  const { pipeline } = deps;
  const router = Router();
  const idOf = (req: Request): string => String(req.params['extensionId']);

  const message: RequestHandler = async (req, res) => {
    const receivedAt = Date.now();
    const result = await pipeline.run(messengerDoor, {
      extensionId: idOf(req),
      requestId: req.requestId,
      headers: req.headers,
      readBody: () => readBody(req, CEK_BODY_LIMIT),
      receivedAt,
    });
    res.on('finish', () => result.finish(res.statusCode));
    // Logged and turned into the error envelope by the app's one error handler (with the cause of an internal error).
    if (!result.ok) throw result.failure instanceof Error ? result.failure : result.error;
    res.json(chatbotResponse(result.answer.message, result.answer.body));
  };

  const keyboard: RequestHandler = async (req, res) => {
    const admitted = await pipeline.admit(idOf(req), req.headers);
    res.on('finish', () => admitted.finish(res.statusCode, req.failure?.code));
    res.json(KEYBOARD);
  };

  router.post('/chatbot/:extensionId', message);
  router.post('/chatbot/:extensionId/message', message);
  router.get('/chatbot/:extensionId/keyboard', keyboard);
  router.post('/chatbot/:extensionId/keyboard', keyboard);

  // Webhook verification (`hub.mode=subscribe`): no API key (the provider cannot send one), the
  // verify token authenticates the call. Not counted: it is set-up, not usage.
  router.get('/chatbot/:extensionId', async (req, res) => {
    const id = idOf(req);
    const ext = await pipeline.resolve(id);
    const q = req.query as Record<string, unknown>;
    const mode = q['hub.mode'];
    const token = q['hub.verify_token'];
    const challenge = q['hub.challenge'];
    const expected = compiledGatewayOf(ext.record).verifyTokenHash;
    // Compared as hashes in constant time; an unset token matches nothing.
    const ok = mode === 'subscribe' && typeof token === 'string' && expected !== undefined && constantTimeEqual(sha256Hex(token), expected);
    if (!ok) throw new AppError('forbidden', 'Webhook verification failed: hub.mode must be "subscribe" and hub.verify_token must match the extension\'s verify token.');
    if (typeof challenge !== 'string' || challenge === '' || challenge.length > 512) throw new AppError('invalid_query', 'hub.challenge must be a non-empty string of at most 512 characters.');
    res.type('text/plain').send(challenge);
  });

  return router;
}
