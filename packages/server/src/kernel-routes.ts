import { implement, type Plinth, PlinthError, prepareJson, type RouteImplementation } from '@plinth/core';
import { buildOpenApi, kernelRoutes, type OpenApiInfo } from '@plinth/core/contract';

/** `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, implemented from the kernel contract. */
export function kernelImplementations(plinth: Plinth, allRoutes: () => RouteImplementation[], info: OpenApiInfo): RouteImplementation[] {
  let openapi: Record<string, unknown> | undefined;
  // Liveness answers the same every time: checked and serialized once.
  const alive = prepareJson(kernelRoutes.health, { status: 'ok' });
  return [
    implement(kernelRoutes.health, () => alive),
    implement(kernelRoutes.ready, async () => {
      const readiness = await plinth.checkReadiness();
      if (!readiness.ok) {
        throw new PlinthError('service.unavailable', 'Not ready: a dependency does not answer', {
          details: { checks: readiness.checks },
        });
      }
      return { status: 'ok' as const, checks: readiness.checks };
    }),
    implement(kernelRoutes.metrics, async ({ setHeader }) => {
      setHeader('content-type', plinth.metrics.contentType);
      return plinth.metrics.metrics();
    }),
    implement(kernelRoutes.openapi, () => {
      openapi ??= buildOpenApi(
        allRoutes().map((r) => r.route),
        info,
      );
      return openapi;
    }),
  ];
}
