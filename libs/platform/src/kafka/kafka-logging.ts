import { Logger } from '@nestjs/common';
import { type logCreator, logLevel } from 'kafkajs';

/**
 * Errors kafkajs logs at ERROR level although it retries them itself, and that are normal while a broker
 * or a consumer group is starting (coordinator loading, leader election, topic just created). Logged at
 * debug so real errors stand out; if the retries run out, the failure surfaces as an exception anyway.
 */
const RETRIED_WHILE_STARTING = [
  'The coordinator is loading',
  'The group coordinator is not available',
  'This is not the correct coordinator',
  'There is no leader for this topic-partition',
  'This server does not host this topic-partition',
  'The group is rebalancing',
];

/** kafkajs log lines into the service's structured log (pino through Nest), one logger per namespace. */
export const kafkaLogCreator: logCreator = () => {
  const loggers = new Map<string, Logger>();
  return ({ namespace, level, log }) => {
    const logger = loggers.get(namespace) ?? new Logger(`kafkajs:${namespace}`);
    loggers.set(namespace, logger);
    const { message, ...fields } = log;
    const error = typeof fields['error'] === 'string' ? fields['error'] : '';
    const expected = RETRIED_WHILE_STARTING.some((text) => error.startsWith(text));
    if (level === logLevel.ERROR && !expected) logger.error(fields, message);
    else if (level === logLevel.WARN) logger.warn(fields, message);
    else if (level === logLevel.INFO) logger.log(fields, message);
    else logger.debug(fields, message);
  };
};
