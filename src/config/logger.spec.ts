import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AppLogger, createPino } from './logger.js';

/** A pino destination that keeps each line, parsed. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe(AppLogger.name, () => {
  let out: ReturnType<typeof capture>;

  function loggerAt(level: string, nodeEnv = 'production'): AppLogger {
    out = capture();
    return new AppLogger(createPino(level, nodeEnv, out.stream));
  }

  describe('behind Nest Logger instances, as the app logs', () => {
    beforeEach(() => Logger.overrideLogger(loggerAt('info')));
    afterEach(() => Logger.overrideLogger(['error', 'fatal']));

    it('writes a message with its context and pino level', () => {
      new Logger('Bootstrap').log('Healthcare API listening on http://localhost:3000');
      expect(out.lines).toEqual([
        expect.objectContaining({ level: 30, context: 'Bootstrap', msg: 'Healthcare API listening on http://localhost:3000' }),
      ]);
    });

    it("keeps an object's fields beside the message", () => {
      new Logger('HTTP').warn({ req_id: 'r-1', status: 404 }, 'request refused');
      expect(out.lines).toEqual([expect.objectContaining({ level: 40, context: 'HTTP', req_id: 'r-1', status: 404, msg: 'request refused' })]);
    });

    it('turns an Error into err, with its message and stack', () => {
      new Logger('Database').error(new Error('connect ECONNREFUSED'));
      const [line] = out.lines as [{ level: number; msg: string; err: { message: string; stack: string } }];
      expect(line.level).toBe(50);
      expect(line.msg).toBe('connect ECONNREFUSED');
      expect(line.err.message).toBe('connect ECONNREFUSED');
      expect(line.err.stack).toMatch(/\n\s*at /);
    });

    it("keeps the stack Nest's exception handler passes as a string", () => {
      new Logger('ExceptionsHandler').error('boom', 'Error: boom\n    at handler (file.js:1:1)');
      const [line] = out.lines as [{ msg: string; err: { stack: string } }];
      expect(line.msg).toBe('boom');
      expect(line.err.stack).toContain('at handler (file.js:1:1)');
    });

    it("writes Nest's module and route wiring at debug, not info", () => {
      new Logger('InstanceLoader').log('AppModule dependencies initialized');
      new Logger('RouterExplorer').log('Mapped {/api/patients, GET} route');
      expect(out.lines).toEqual([]);
    });

    it('removes password and token fields', () => {
      new Logger('Auth').warn({ body: { password: 'Zebra-Quartz-Harbour-91', token: 'eyJ.x.y', username: 'ada' } }, 'odd');
      expect(JSON.stringify(out.lines)).not.toMatch(/Zebra|eyJ/);
      expect(out.lines[0]).toMatchObject({ body: { username: 'ada' } });
    });
  });

  it('writes the wiring at debug when LOG_LEVEL=debug', () => {
    const logger = loggerAt('debug');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    expect(out.lines).toEqual([expect.objectContaining({ level: 20, context: 'InstanceLoader' })]);
  });

  it('honours the level: debug lines are dropped at info', () => {
    const logger = loggerAt('info');
    logger.debug('detail', 'Database');
    logger.verbose('more detail', 'Database');
    logger.fatal('gone', 'Database');
    expect(out.lines).toEqual([expect.objectContaining({ level: 60, msg: 'gone' })]);
  });

  it('is silent in tests at the default level, and logs when a test asks for a level', () => {
    loggerAt('info', 'test').warn('unseen', 'Throttling');
    expect(out.lines).toEqual([]);
    loggerAt('warn', 'test').warn('seen', 'Throttling');
    expect(out.lines).toEqual([expect.objectContaining({ level: 40, msg: 'seen' })]);
  });
});
