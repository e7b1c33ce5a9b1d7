import type { ExtensionRecord } from '../extensions/model.js';
import { API_KEY_HEADER } from './model.js';
import { compiledGatewayOf } from './gateway.js';

/**
 * The Swagger 2.0 document of an extension's public routes, in the shape NAVER's API Gateway
 * exports and imports (`chatbot_messenger_swagger.json`): the `x-ncp-apigw-api-key` security
 * definition (an API key in the header), and on every operation `x-ncp-apigateway-filters` (is a
 * key required) and `x-ncp-apigateway-endpoint` (where the gateway sends the call: this service).
 * `host`, `basePath` and `schemes` come from PUBLIC_URL. Paths are the extension's own, literally,
 * so an import creates exactly its resources.
 */
export function swaggerDocument(record: ExtensionRecord, publicUrl: string): Record<string, unknown> {
  const url = new URL(publicUrl);
  const basePath = url.pathname.replace(/\/+$/, '') || '/';
  const prefix = basePath === '/' ? '' : basePath;
  const id = record.extensionId;
  const requireKey = compiledGatewayOf(record).requireApiKey;
  const keySecurity = [{ [API_KEY_HEADER]: [] as string[] }];

  const endpoint = (method: string, path: string) => ({
    HTTP: { stream: true, method, url: `${url.origin}${prefix}${path}` },
  });
  const filters = (apiKey: boolean) => ({ valid: { type: 'NONE' }, apiKey: { required: apiKey }, auth: { platform: 'NONE' } });
  const errors = {
    '400': { description: 'invalid_json, invalid_request', schema: { $ref: '#/definitions/Error' } },
    '401': { description: 'missing_signature, invalid_signature, missing_api_key', schema: { $ref: '#/definitions/Error' } },
    '403': { description: 'invalid_api_key, application_id_mismatch', schema: { $ref: '#/definitions/Error' } },
    '404': { description: 'unknown_extension', schema: { $ref: '#/definitions/Error' } },
    '413': { description: 'payload_too_large', schema: { $ref: '#/definitions/Error' } },
    '429': {
      description: 'rate_limited, quota_exceeded',
      schema: { $ref: '#/definitions/Error' },
      headers: {
        'Retry-After': { type: 'integer', description: 'Seconds until the limit resets' },
        'RateLimit-Limit': { type: 'integer' },
        'RateLimit-Remaining': { type: 'integer' },
        'RateLimit-Reset': { type: 'integer', description: 'Seconds until the limit resets' },
      },
    },
    '500': { description: 'internal_error', schema: { $ref: '#/definitions/Error' } },
  };
  const chatbotSignature = {
    name: 'X-NCP-CHATBOT_SIGNATURE',
    in: 'header',
    required: true,
    type: 'string',
    description: 'Base64(HMAC-SHA256(key = Chatbot Secret, message = the exact request body))',
    'x-ncp-parameter-is-logged': false,
  };
  const keyed = (op: Record<string, unknown>, method: string, path: string) => ({
    ...op,
    security: requireKey ? keySecurity : [],
    'x-ncp-apigateway-filters': filters(requireKey),
    'x-ncp-apigateway-endpoint': endpoint(method, path),
  });
  const messagePost = (path: string, operationId: string) =>
    keyed(
      {
        tags: ['messenger'],
        operationId,
        summary: 'A CLOVA Chatbot custom-channel (v2) message',
        description: '`send` is answered like a CEK IntentRequest `Chatbot.Message` with a `text` slot, `open` like a LaunchRequest, by the same action methods and account linking as voice.',
        consumes: ['application/json'],
        produces: ['application/json'],
        parameters: [chatbotSignature, { in: 'body', name: 'message', required: true, schema: { $ref: '#/definitions/ChatbotMessage' } }],
        responses: { '200': { description: 'The answer, in the same v2 shape, with text bubbles', schema: { $ref: '#/definitions/ChatbotResponse' } }, ...errors },
      },
      'POST',
      path,
    );
  const keyboard = (method: 'GET' | 'POST', path: string, operationId: string) =>
    keyed(
      {
        tags: ['messenger'],
        operationId,
        summary: 'The keyboard description (free text)',
        produces: ['application/json'],
        responses: { '200': { description: 'The keyboard', schema: { $ref: '#/definitions/Keyboard' } }, ...errors },
      },
      method,
      path,
    );

  const cekPath = `/cek/${id}`;
  const chatbotPath = `/chatbot/${id}`;
  return {
    swagger: '2.0',
    info: {
      title: `${record.name} (${id})`,
      description: `Public routes of the CLOVA extension ${id}, served by cek-gateway at ${publicUrl}.`,
      version: record.updatedAt,
    },
    host: url.host,
    basePath,
    schemes: [url.protocol.replace(/:$/, '')],
    consumes: ['application/json'],
    produces: ['application/json'],
    security: requireKey ? keySecurity : [],
    tags: [
      { name: 'cek', description: 'CLOVA Extension Kit (voice)' },
      { name: 'messenger', description: 'Messenger routes (CLOVA Chatbot custom channel v2)' },
    ],
    paths: {
      [cekPath]: {
        post: keyed(
          {
            tags: ['cek'],
            operationId: 'cekRequest',
            summary: 'A CEK request from CLOVA',
            consumes: ['application/json'],
            produces: ['application/json'],
            parameters: [
              { name: 'SignatureCEK', in: 'header', required: false, type: 'string', description: 'Base64 RSA-SHA256 signature of the body by CLOVA', 'x-ncp-parameter-is-logged': false },
              { ...chatbotSignature, required: false },
              { in: 'body', name: 'request', required: true, schema: { $ref: '#/definitions/CekRequest' } },
            ],
            responses: { '200': { description: 'The CEK response', schema: { $ref: '#/definitions/CekResponse' } }, ...errors },
          },
          'POST',
          cekPath,
        ),
      },
      [chatbotPath]: {
        post: messagePost(chatbotPath, 'chatbotMessageRoot'),
        get: {
          tags: ['messenger'],
          operationId: 'webhookVerification',
          summary: 'Webhook verification: answers hub.challenge when hub.verify_token matches',
          produces: ['text/plain'],
          parameters: [
            { name: 'hub.mode', in: 'query', required: true, type: 'string', enum: ['subscribe'] },
            { name: 'hub.verify_token', in: 'query', required: true, type: 'string' },
            { name: 'hub.challenge', in: 'query', required: true, type: 'string' },
          ],
          responses: {
            '200': { description: 'The challenge, as it was sent', schema: { type: 'string' } },
            '403': { description: 'forbidden: the token does not match', schema: { $ref: '#/definitions/Error' } },
            '404': { description: 'unknown_extension', schema: { $ref: '#/definitions/Error' } },
          },
          // The webhook provider cannot send our API key: the verify token authenticates this call.
          security: [],
          'x-ncp-apigateway-filters': filters(false),
          'x-ncp-apigateway-endpoint': endpoint('GET', chatbotPath),
        },
      },
      [`${chatbotPath}/message`]: { post: messagePost(`${chatbotPath}/message`, 'chatbotMessage') },
      [`${chatbotPath}/keyboard`]: {
        get: keyboard('GET', `${chatbotPath}/keyboard`, 'keyboardGet'),
        post: keyboard('POST', `${chatbotPath}/keyboard`, 'keyboardPost'),
      },
    },
    securityDefinitions: {
      [API_KEY_HEADER]: { type: 'apiKey', name: API_KEY_HEADER, in: 'header' },
    },
    definitions: DEFINITIONS,
  };
}

const speechInfo = {
  type: 'object',
  properties: { type: { type: 'string', enum: ['PlainText', 'URL'] }, lang: { type: 'string' }, value: { type: 'string' } },
};

const DEFINITIONS = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          requestId: { type: 'string' },
          details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
  CekRequest: {
    type: 'object',
    required: ['version', 'context', 'request'],
    properties: {
      version: { type: 'string', example: '1.0' },
      session: { type: 'object' },
      context: { type: 'object' },
      request: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', enum: ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest', 'EventRequest'] } },
      },
    },
  },
  CekResponse: {
    type: 'object',
    required: ['version', 'sessionAttributes', 'response'],
    properties: {
      version: { type: 'string' },
      sessionAttributes: { type: 'object' },
      response: {
        type: 'object',
        required: ['outputSpeech', 'card', 'directives', 'shouldEndSession'],
        properties: {
          outputSpeech: { type: 'object', properties: { type: { type: 'string', enum: ['SimpleSpeech', 'SpeechList', 'SpeechSet'] }, values: speechInfo } },
          card: { type: 'object' },
          directives: { type: 'array', items: { type: 'object' } },
          reprompt: { type: 'object' },
          shouldEndSession: { type: 'boolean' },
        },
      },
    },
  },
  TextBubble: {
    type: 'object',
    required: ['type', 'data'],
    properties: {
      type: { type: 'string', enum: ['text'] },
      data: { type: 'object', required: ['description'], properties: { description: { type: 'string' }, url: { type: 'string' } } },
    },
  },
  ChatbotMessage: {
    type: 'object',
    required: ['userId', 'timestamp', 'bubbles', 'event'],
    properties: {
      version: { type: 'string', enum: ['v2'] },
      userId: { type: 'string', maxLength: 256 },
      userIp: { type: 'string' },
      timestamp: { type: 'integer', format: 'int64' },
      bubbles: { type: 'array', items: { $ref: '#/definitions/TextBubble' } },
      event: { type: 'string', enum: ['send', 'open'] },
    },
  },
  ChatbotResponse: {
    type: 'object',
    required: ['version', 'userId', 'timestamp', 'bubbles', 'event'],
    properties: {
      version: { type: 'string', enum: ['v2'] },
      userId: { type: 'string' },
      sessionId: { type: 'string' },
      timestamp: { type: 'integer', format: 'int64' },
      bubbles: { type: 'array', items: { $ref: '#/definitions/TextBubble' } },
      event: { type: 'string', enum: ['send', 'open'] },
    },
  },
  Keyboard: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: ['text', 'buttons'] }, buttons: { type: 'array', items: { type: 'string' } } },
  },
};
