import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { dispatch, type CekContext, type CekResponder } from '../cek/dispatch.js';
import { CEK_BODY_LIMIT, CEK_DEADLINE_MS } from '../cek/handler.js';
import { CHATBOT_SIGNATURE_HEADER, verifyChatbotSignature } from '../cek/verify.js';
import type { ExtensionRegistry, ResolvedExtension } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { constantTimeEqual } from '../security/constantTime.js';
import { sha256Hex } from '../security/hash.js';
import { cekRequestFor, chatbotResponse, parseChatbotMessage } from './chatbot.js';
import { compiledGatewayOf, type Admission, type Gateway } from './gateway.js';

export interface MessengerDeps {
  registry: ExtensionRegistry;
  gateway: Gateway;
  /** The same list the CEK handler answers with (read at request time: features add theirs at start-up). */
  responders: readonly CekResponder[];
  log: Logger;
}

interface Locals {
  ext: ResolvedExtension;
  admission: Admission;
}

/** The keyboard of a free-text chat (KakaoTalk's auto-reply API shape, cek-protocol.md section 8.3). */
const KEYBOARD = { type: 'text' } as const;

/**
 * The messenger routes of `chatbot_messenger_swagger.json` under `/chatbot/:extensionId`
 * (DESIGN.md section 8): the same API key and usage plan as voice, then the Chatbot Secret
 * signature over the raw body, then the same responders as voice.
 */
export function messengerRoutes(deps: MessengerDeps): Router {
  const { registry, gateway } = deps;
  const router = Router();

  const extension = async (req: Request): Promise<ResolvedExtension> => {
    const id = req.params['extensionId'] as string;
    const ext = await registry.resolve(id);
    if (ext === undefined) throw new AppError('unknown_extension', `No extension with ID "${id.slice(0, 255)}".`);
    return ext;
  };

  // Before the body is read, like the voice gate: a refused caller costs no body parsing.
  const admit: RequestHandler = async (req, res, next) => {
    const ext = await extension(req);
    const admission = await gateway.admit(req.headers, ext);
    res.locals['gateway'] = { ext, admission } satisfies Locals;
    res.on('finish', () => gateway.finish(admission, res.statusCode, req.failure?.code));
    next();
  };
  const raw = express.raw({ type: () => true, limit: CEK_BODY_LIMIT });
  const locals = (res: Response): Locals => res.locals['gateway'] as Locals;

  const message: RequestHandler = async (req, res) => {
    const { ext } = locals(res);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.headers[CHATBOT_SIGNATURE_HEADER];
    const sig = Array.isArray(signature) ? signature[0] : signature;
    if (sig === undefined || sig.trim() === '') throw new AppError('missing_signature', 'X-NCP-CHATBOT_SIGNATURE is required.');
    if (!verifyChatbotSignature(body, sig, ext.liveSecrets())) throw new AppError('invalid_signature', 'The request signature does not match the request body.');
    const msg = parseChatbotMessage(body);
    const ctx: CekContext = {
      cek: cekRequestFor(msg, ext.record.extensionId),
      ext,
      requestId: req.requestId,
      log: deps.log,
      deadline: Date.now() + CEK_DEADLINE_MS,
      outcome: 'ok',
    };
    const answer = await dispatch(ctx, deps.responders);
    res.json(chatbotResponse(msg, answer));
  };

  const keyboard: RequestHandler = (_req, res) => {
    res.json(KEYBOARD);
  };

  router.post('/chatbot/:extensionId', admit, raw, message);
  router.post('/chatbot/:extensionId/message', admit, raw, message);
  router.get('/chatbot/:extensionId/keyboard', admit, keyboard);
  router.post('/chatbot/:extensionId/keyboard', admit, keyboard);

  // Webhook verification (`hub.mode=subscribe`): no API key (the provider cannot send one), the
  // verify token authenticates the call. Not counted: it is set-up, not usage.
  router.get('/chatbot/:extensionId', async (req, res) => {
    const ext = await extension(req);
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
