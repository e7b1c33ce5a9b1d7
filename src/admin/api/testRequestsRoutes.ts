import type { Router } from 'express';
import { z } from 'zod';
import type { CekTap } from '../../cek/tap.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { AppError } from '../../http/errors.js';
import type { Logger } from '../../http/logger.js';
import { CONTROL_CHARS_MESSAGE, noControlChars, parseInput } from '../../http/validate.js';
import { adminRouter } from '../pathParams.js';
import { selfBaseUrl } from '../selfUrl.js';
import { sendTestRequest, signingSecretOf, userIdsIn } from '../testRequest.js';

export interface TestRequestsRoutesDeps {
  registry: ExtensionRegistry;
  tap: CekTap;
  log: Logger;
  isTestUser(extensionId: string, userId: string): Promise<boolean>;
}

const testRequestInput = z
  .object({
    // Sent as it is: a request the pipeline refuses (bad shape, another applicationId) is an answer to report.
    request: z.record(z.string(), z.unknown(), { error: 'must be a CEK request (a JSON object)' }).superRefine((request, ctx) => {
      // A CEK user id is one line of text here, as in the test console and the test-users API.
      for (const { path, userId } of userIdsIn(request)) {
        if (!noControlChars(false)(userId)) ctx.addIssue({ code: 'custom', path: [...path], message: `${CONTROL_CHARS_MESSAGE} (it is the CEK user ID)` });
      }
    }),
    // For an extension that requires an API key: sent in its header (a header value: visible ASCII).
    apiKey: z
      .string()
      .min(1, 'must not be empty')
      .max(512, 'must be at most 512 characters')
      .regex(/^[\x21-\x7E]*$/, 'must be visible ASCII without spaces (it is sent in a header)')
      .optional(),
  })
  .strict();

/** `POST /api/v1/extensions/:id/test-requests`: the answer and what the gateway did with it. */
export interface TestRequestReport {
  requestId: string;
  /** The HTTP status CLOVA would have got. */
  status: number;
  /** The CEK response (or the error envelope of a refusal). */
  response: unknown;
  /** What answered (`action`, `welcome`, `fallback`, `login_prompt`, ...); `null` when refused before dispatch. */
  outcome: string | null;
  /** The request spoke for a test user (left out of usage and quotas). */
  testUser: boolean;
  /** The action method whose trigger matched, if any. */
  action?: { name: string; forwarded: boolean; tokenSent: boolean };
}

/**
 * `POST /api/v1/extensions/:id/test-requests` `{request, apiKey?}`: sends one CEK request as CLOVA would,
 * signed with the extension's current Chatbot Secret, through this instance's own invoke URL (the
 * `cek-gateway test` scenario runner is built on it). Always 200 with the report once sent.
 */
export function testRequestsRoutes(deps: TestRequestsRoutesDeps): Router {
  const { registry } = deps;
  const router = adminRouter();
  router.post('/extensions/:id/test-requests', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const input = parseInput(testRequestInput, req.body);
    const id = record.extensionId;
    if (record.verification === 'cekSignature' || record.verification === 'both') {
      throw new AppError(
        'conflict',
        `Test requests are signed with the Chatbot Secret, and this extension's verification is "${record.verification}" (CLOVA's own signature required): set it to "any" or "chatbotSecret" to test it.`,
      );
    }
    const secret = await signingSecretOf(registry, id);
    if (secret === undefined) throw new AppError('conflict', 'The Chatbot Secret of this extension cannot be opened with the configured encryption keys: generate a new one.');
    const sent = await sendTestRequest(deps, {
      extensionId: id,
      raw: JSON.stringify(input.request),
      secret,
      baseUrl: selfBaseUrl(req),
      origin: 'admin-api',
      reqId: req.requestId,
      apiKey: input.apiKey,
    });
    if (!sent.ok) throw new AppError('upstream_error', `The request did not get an answer from this instance's CEK endpoint (${sent.reason}).`);
    const report: TestRequestReport = {
      requestId: sent.requestId,
      status: sent.status,
      response: sent.json ?? sent.text,
      outcome: sent.outcome ?? null,
      testUser: sent.testUser,
      ...(sent.action === undefined ? {} : { action: { name: sent.action.def.name, forwarded: sent.action.forwarded, tokenSent: sent.action.tokenSent } }),
    };
    res.json(report);
  });
  return router;
}
