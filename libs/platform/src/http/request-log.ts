/**
 * What a request line in the logs says about the request: its method, path and the names of its query
 * parameters, never their values. Query strings carry clinical values (`?patient=…&code=…&date=…` in records,
 * serials in supply) and logs are kept, shipped and read far more widely than the data they describe; bodies are
 * never logged. Path parameters are ids, which the audit trail records anyway.
 */
export function withoutQueryValues(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const names = url
    .slice(mark + 1)
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      try {
        return decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return name;
      }
    });
  return `${url.slice(0, mark)}?${names.map((name) => `${encodeURIComponent(name)}=[redacted]`).join('&')}`;
}

/** pino-http's request serializer, given the standard serialization: the URL without values, and no `query`. */
export function requestLogSerializer(request: Record<string, unknown>): Record<string, unknown> {
  const { query: _query, ...rest } = request;
  return { ...rest, ...(typeof rest['url'] === 'string' && { url: withoutQueryValues(rest['url']) }) };
}
