/**
 * Whether the request carries the header `name` (lower case) more than once. Node keeps the first
 * of a repeated singleton header (Host, Authorization) and drops the rest, while a proxy in front
 * may have looked at another: a field that cannot be a list given twice is a malformed request,
 * not a choice to make (RFC 9110 5.3, RFC 9112 3.2).
 */
export function isRepeated(rawHeaders: readonly string[], name: string): boolean {
  let seen = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const header = rawHeaders[index]!;
    if (header.length === name.length && header.toLowerCase() === name && ++seen > 1) return true;
  }
  return false;
}

/**
 * RFC 9110 7.2: Host = uri-host [ ":" port ], with uri-host an IP literal in brackets, an IPv4
 * address or a registered name (RFC 3986 3.2.2). A space, a slash or an @ has no place in it.
 */
const HOST = /^(?:\[[\w.~!$&'()*+,;=:-]+\]|(?:[\w.~!$&'()*+,;=-]|%[\da-f]{2})*)(?::\d*)?$/i;

/** Whether a Host header value is of the form RFC 9110 gives it (a missing one is Node's to refuse). */
export function isValidHost(host: string | undefined): boolean {
  return host === undefined || HOST.test(host);
}
