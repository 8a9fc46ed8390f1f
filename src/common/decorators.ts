import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/**
 * The absolute URL of the request, for a page's next/previous links. The Host
 * was already checked against ALLOWED_HOSTS, so echoing it is safe.
 */
export const RequestUrl = createParamDecorator((_data: unknown, ctx: ExecutionContext): URL => {
  const req = ctx.switchToHttp().getRequest<{ protocol: string; host: string; url: string }>();
  return new URL(req.url, `${req.protocol}://${req.host}`);
});
