/**
 * @nestjs/throttler 6 is CommonJS and
 * requires the ESM-only @nestjs/common and @nestjs/core. Node runs that
 * (require(esm)); jest's CommonJS loader cannot before Node 24.9. For the
 * tests only, its require() of those two packages is pointed at the ESM
 * instances the app itself imported (preloaded by test/jest/preload-nest.ts),
 * so both sides share one Reflector, one HttpException, one DI container.
 */
const NEST = /require\((["'])(@nestjs\/common|@nestjs\/core)\1\)/g;

module.exports = {
  process(source) {
    return { code: source.replace(NEST, (_m, _q, name) => `globalThis.__nestEsm[${JSON.stringify(name)}]`) };
  },
  getCacheKey(source, path) {
    return require('node:crypto').createHash('sha256').update('v1').update(path).update(source).digest('hex');
  },
};
