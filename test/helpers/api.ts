// A node's HTTP API as a script drives it: the api.cookie bearer, JSON in and out.

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test are read loosely
export type Json = any;

/** `(method, path, body?) → {status, body}` against the node at `ui`, authorised by `cookie`. */
export function apiOf(ui: string, cookie: string) {
  return async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${ui}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${cookie}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: await res.json() };
  };
}
