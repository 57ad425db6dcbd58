import type { Handler } from '../handlers';

/** operationId sqsRequest: one SQS action; being built, every action is refused as SQS refuses an unknown one. */
export function sqsEndpoint(): Handler {
  return (_req, res) => {
    res
      .status(400)
      .set('x-amzn-query-error', 'AWS.SimpleQueueService.UnsupportedOperation;Sender')
      .type('application/x-amz-json-1.0')
      .send(JSON.stringify({ __type: 'com.amazonaws.sqs#UnsupportedOperation', message: 'This action is not supported.' }));
  };
}
