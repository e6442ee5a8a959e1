/**
 * `serve` flags every test process starts with: every listener on loopback (tests never listen elsewhere), on
 * port 0 (the OS picks; tests read the bound ports from the `listening` log line). Shared by the CLI tests and
 * the e2e framework.
 */
export const LOOPBACK_PORT_0 = [
  '--bind-address',
  '127.0.0.1',
  '--admin-bind-address',
  '127.0.0.1',
  '--http-port',
  '0',
  '--https-port',
  '0',
  '--admin-port',
  '0',
] as const;
