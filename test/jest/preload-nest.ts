// See cjs-nest-transform.cjs: the ESM Nest packages, for the CommonJS ones that require() them.
(globalThis as Record<string, unknown>).__nestEsm = {
  '@nestjs/common': await import('@nestjs/common'),
  '@nestjs/core': await import('@nestjs/core'),
};
