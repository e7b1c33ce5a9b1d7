import request from 'supertest';
import type { TestApp } from './app.js';

/** The admin API of a test app, with its admin token: `admin(app).put('/extensions/x/gateway', {...})`. */
export function adminApi(app: TestApp) {
  const at = (p: string) => `/api/v1${p}`;
  return {
    get: (p: string) => request(app.url).get(at(p)).set(app.adminHeaders),
    post: (p: string, body: object) => request(app.url).post(at(p)).set(app.adminHeaders).send(body),
    put: (p: string, body: object) => request(app.url).put(at(p)).set(app.adminHeaders).send(body),
    patch: (p: string, body: object) => request(app.url).patch(at(p)).set(app.adminHeaders).send(body),
    delete: (p: string) => request(app.url).delete(at(p)).set(app.adminHeaders),
  };
}
