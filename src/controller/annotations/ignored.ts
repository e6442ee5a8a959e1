/**
 * Well-known ingress-nginx annotations sticky-ingress does not implement, with the reason shown in the
 * diagnostic and the docs. Any other `nginx.ingress.kubernetes.io/*` key is ignored the same way. None is ever
 * interpreted: no annotation text becomes configuration (the IngressNightmare class, CVE-2025-1974).
 */
export const IGNORED_NGINX_ANNOTATIONS: Readonly<Record<string, string>> = {
  'configuration-snippet': 'raw NGINX configuration; annotation text never becomes configuration here',
  'server-snippet': 'raw NGINX configuration; annotation text never becomes configuration here',
  'stream-snippet': 'raw NGINX configuration; annotation text never becomes configuration here',
  'modsecurity-snippet': 'raw ModSecurity rules; annotation text never becomes configuration here',
  'rewrite-target': 'path rewriting is not implemented; the backend sees the original path',
  'use-regex': 'regular-expression paths are not implemented; ImplementationSpecific paths match as Prefix',
  'app-root': 'redirects other than HTTP->HTTPS are not implemented',
  'permanent-redirect': 'redirects other than HTTP->HTTPS are not implemented',
  'temporal-redirect': 'redirects other than HTTP->HTTPS are not implemented',
  'backend-protocol': 'backends are spoken to over plain HTTP/1.1 only',
  'enable-cors': 'CORS is left to the application',
  'limit-rps': 'rate limiting is not implemented',
  'limit-connections': 'rate limiting is not implemented',
  'proxy-body-size': 'request bodies are streamed, not buffered, so there is no body size limit to set',
  'proxy-send-timeout': 'only connect, read and WebSocket idle timeouts are configurable',
  canary: 'canary routing is not implemented',
  'session-cookie-hash': 'obsolete in ingress-nginx; the cookie always holds a keyed hash of the endpoint',
  'affinity-canary-behavior': 'canary routing is not implemented',
};
