import type { RequestHandler } from 'express';
import { AppError } from '../http/errors.js';
import { constantTimeEqual } from '../security/constantTime.js';

/** Admin API guard: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time. */
export function requireAdminToken(adminToken: string): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (match?.[1] === undefined || !constantTimeEqual(match[1], adminToken)) {
      res.setHeader('www-authenticate', 'Bearer realm="cek-gateway admin"');
      throw new AppError('unauthorized', 'A valid admin token is required: send "Authorization: Bearer <ADMIN_TOKEN>".');
    }
    next();
  };
}
