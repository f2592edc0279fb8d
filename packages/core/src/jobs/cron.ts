import { CronExpressionParser } from 'cron-parser';

/** The first tick of `expression` strictly after `afterMs` (UTC), in ms. Throws on a bad expression. */
export function nextTick(expression: string, afterMs: number): number {
  return CronExpressionParser.parse(expression, { currentDate: new Date(afterMs), tz: 'UTC' }).next().getTime();
}
