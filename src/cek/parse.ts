import { AppError } from '../http/errors.js';
import { parseJsonObject } from '../http/jsonBody.js';
import { REQUEST_TYPES, type CekRequest, type CekRequestBody, type RequestType } from './types.js';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const invalid = (message: string): AppError => new AppError('invalid_request', message);

/**
 * Parses and validates a CEK request body (already verified). Hand-written rather than a schema
 * library because it runs on every voice request (PERFORMANCE.md section 3.5): it checks only what
 * the service relies on and tolerates everything else real traffic sends.
 */
export function parseCekRequest(raw: Buffer): CekRequest {
  const body = parseJsonObject(raw);

  const { version, session, context, request } = body;
  if (typeof version !== 'string' || version === '') throw invalid('"version" must be a non-empty string.');
  if (session !== null && session !== undefined && !isObject(session)) throw invalid('"session" must be an object or null.');
  if (!isObject(context) || !isObject(context['System'])) throw invalid('"context.System" must be an object.');
  const system = context['System'];
  const application = system['application'];
  if (!isObject(application) || !nonEmptyString(application['applicationId'])) {
    throw invalid('"context.System.application.applicationId" must be a non-empty string.');
  }
  if (!isObject(request)) throw invalid('"request" must be an object.');
  const type = request['type'];
  if (typeof type !== 'string' || type === '') throw invalid('"request.type" is missing.');
  if (!(REQUEST_TYPES as readonly string[]).includes(type)) {
    throw invalid(`Unknown request type "${type.slice(0, 64)}"; expected one of ${REQUEST_TYPES.join(', ')}.`);
  }

  let intentName: string | undefined;
  let eventNamespace: string | undefined;
  let eventName: string | undefined;
  if (type === 'IntentRequest') {
    const intent = request['intent'];
    if (!isObject(intent) || !nonEmptyString(intent['name'])) throw invalid('"request.intent.name" is missing.');
    const slots = intent['slots'];
    if (slots !== undefined && slots !== null && !isObject(slots)) throw invalid('"request.intent.slots" must be an object or null.');
    intentName = intent['name'];
  } else if (type === 'EventRequest') {
    const event = request['event'];
    if (!isObject(event) || !nonEmptyString(event['namespace']) || !nonEmptyString(event['name'])) {
      throw invalid('"request.event.namespace" and "request.event.name" are required for an EventRequest.');
    }
    eventNamespace = event['namespace'];
    eventName = event['name'];
  }

  const sessionUser = isObject(session) && isObject(session['user']) ? session['user'] : undefined;
  const systemUser = isObject(system['user']) ? system['user'] : undefined;
  const userId = pickString(sessionUser?.['userId'], systemUser?.['userId']) ?? '';
  // The token belongs to the user it came with: take the speaker's, and the owner's only when the
  // speaker is the owner.
  const accessToken =
    sessionUser !== undefined && nonEmptyString(sessionUser['userId'])
      ? pickString(sessionUser['accessToken'], systemUser?.['userId'] === sessionUser['userId'] ? systemUser['accessToken'] : undefined)
      : pickString(systemUser?.['accessToken']);
  const attrs = isObject(session) ? session['sessionAttributes'] : undefined;

  return {
    body: body as CekRequestBody,
    raw,
    type: type as RequestType,
    version,
    applicationId: application['applicationId'],
    userId,
    accessToken,
    intentName,
    eventNamespace,
    eventName,
    sessionAttributes: isObject(attrs) ? attrs : {},
    locale: nonEmptyString(request['locale']) ? request['locale'] : undefined,
  };
}

function pickString(...values: unknown[]): string | undefined {
  for (const v of values) if (nonEmptyString(v)) return v;
  return undefined;
}
