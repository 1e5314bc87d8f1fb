/** What {@link singletonHeader} answers for a header given more than once. */
export const REPEATED = Symbol('repeated header');

/**
 * The value of the header `name` (lower case) that may occur once: undefined when the request has
 * none, REPEATED when it has more than one. Node keeps the first of a repeated singleton header
 * (Host, Authorization) and drops the rest, while a proxy in front may have looked at another: a
 * field that cannot be a list given twice is a malformed request, not a choice to make (RFC 9110
 * 5.3, RFC 9112 3.2). Read from the raw headers, so Node need not build `req.headers` for it.
 */
export function singletonHeader(rawHeaders: readonly string[], name: string): string | undefined | typeof REPEATED {
  let value: string | undefined;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const header = rawHeaders[index]!;
    if (header.length !== name.length || header.toLowerCase() !== name) continue;
    if (value !== undefined) return REPEATED;
    value = rawHeaders[index + 1]!;
  }
  return value;
}

/**
 * RFC 9110 7.2: Host = uri-host [ ":" port ], with uri-host an IP literal in brackets (IPv6, or
 * IPvFuture's v<hex>.<text>), an IPv4 address or a registered name (RFC 3986 3.2.2). A space, a
 * slash or an @ has no place in it.
 */
const HOST = /^(?:\[(?:[\da-f:.]+|v[\da-f]+\.[\w.~!$&'()*+,;=:-]+)\]|(?:[\w.~!$&'()*+,;=-]|%[\da-f]{2})*)(?::\d*)?$/i;

/** Whether a Host header value is of the form RFC 9110 gives it (a missing one is Node's to refuse). */
export function isValidHost(host: string | undefined): boolean {
  return host === undefined || HOST.test(host);
}
