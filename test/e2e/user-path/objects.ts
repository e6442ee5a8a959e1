import type { KubeObject } from '../framework/kube.ts';

/** The chat sample's namespace, host and affinity cookie (README's ingress-nginx annotations). */
export const CHAT = { namespace: 'chat', host: 'chat.example.test', cookie: 'CHAT', secret: 'chat-tls' };

/**
 * A 3-replica socket.io Deployment of the backend image: each pod answers with its name. The preStop sleep
 * keeps a terminating pod serving while its endpoint leaves every EndpointSlice (what a real app does).
 */
export function chatDeployment(image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'chat', namespace: CHAT.namespace },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'chat' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: 'chat' } },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'chat',
              image,
              imagePullPolicy: 'Never',
              args: ['--id', '$(POD_NAME)'],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [{ name: 'http', containerPort: 3000 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
            },
          ],
        },
      },
    },
  };
}

/** The chat Service (port 80 -> the pods' `http`). */
export function chatService(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'chat', namespace: CHAT.namespace },
    spec: { selector: { app: 'chat' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** README's annotations: cookie affinity (ingress-nginx keys carry over), least-conn, a 60 s read timeout. */
const ANNOTATIONS = {
  'nginx.ingress.kubernetes.io/affinity': 'cookie',
  'nginx.ingress.kubernetes.io/session-cookie-name': CHAT.cookie,
  'nginx.ingress.kubernetes.io/load-balance': 'least-conn',
  'nginx.ingress.kubernetes.io/proxy-read-timeout': '60',
};

/**
 * The chat Ingress: `host` with TLS from `secret` when given; without a host it matches every Host header
 * (socket.io-client cannot set Host on Node's polling transport, so its clients use the address).
 */
export function chatIngress(name: string, host?: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: CHAT.namespace, annotations: ANNOTATIONS },
    spec: {
      ingressClassName: 'sticky',
      ...(host ? { tls: [{ hosts: [host], secretName: CHAT.secret }] } : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'chat', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  };
}
