// The console speaks only to /ops, with the member's session cookie (HttpOnly: never seen
// here). Every change carries an Idempotency-Key, so a retried click changes nothing twice.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
    this.words = (body && body.words) || [];
  }
}

const HOME = "/console";

export function signIn() {
  sessionStorage.setItem("siyu.back", location.hash);
  location.assign(`/ops/login?next=${encodeURIComponent(HOME)}`);
}

export function returnTo() {
  const back = sessionStorage.getItem("siyu.back");
  sessionStorage.removeItem("siyu.back");
  return back;
}

export async function api(method, path, { body, query } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = crypto.randomUUID();
  const params = query
    ? Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")
    : [];
  const url = params.length ? `${path}?${new URLSearchParams(params)}` : path;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { message: "network" });
  }
  const json = (response.headers.get("Content-Type") || "").includes("json");
  const data = json ? await response.json() : await response.text();
  if (response.status === 401) signIn();
  if (!response.ok) throw new ApiError(response.status, json ? data : { message: data });
  return data;
}

export const get = (path, query) => api("GET", path, { query });
