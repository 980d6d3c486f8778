// Authenticated REST calls. A `token_expired` answer triggers one refresh
// and one retry; network failures surface as OfflineError.

import { accessToken, HubError, OfflineError, net } from './session.js';

export { HubError, OfflineError };

export async function api(method, path, body, headers = {}) {
  for (let attempt = 0; ; attempt++) {
    if (net.held) throw new OfflineError();
    const token = await accessToken({ force: attempt > 0 });
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: 'Bearer ' + token,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new OfflineError();
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = { message: text }; }
    if (response.ok) return json;
    const error = new HubError(response.status, json);
    if (attempt === 0 && (error.code === 'token_expired' || error.code === 'invalid_token')) continue;
    throw error;
  }
}

export const get = (path) => api('GET', path);
