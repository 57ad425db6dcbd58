import { queueOf, type SqsAction, type SqsDeps } from './context';
import { invalidParameter, missingParameter } from './errors';
import type { Input } from './protocol';
import { queueArn } from './queueNames';

/**
 * AddPermission and RemovePermission: statements of the queue's Policy
 * attribute, written as SQS writes them. The policy is kept for SQS clients
 * to read back; the gateway does not enforce it (access is what its keys and
 * scopes allow).
 */

/** A statement of a policy document, as far as these actions read it. */
type Statement = Record<string, unknown> & { Sid?: unknown };

/** A policy document: its statements as a list, its other members as they are. */
type PolicyDocument = Record<string, unknown> & { Statement: Statement[] };

/** The actions a permission may name (or `*`): SQS's actions. */
const ACTIONS = new Set([
  '*',
  'AddPermission',
  'CancelMessageMoveTask',
  'ChangeMessageVisibility',
  'CreateQueue',
  'DeleteMessage',
  'DeleteQueue',
  'GetQueueAttributes',
  'GetQueueUrl',
  'ListDeadLetterSourceQueues',
  'ListMessageMoveTasks',
  'ListQueueTags',
  'ListQueues',
  'PurgeQueue',
  'ReceiveMessage',
  'RemovePermission',
  'SendMessage',
  'SetQueueAttributes',
  'StartMessageMoveTask',
  'TagQueue',
  'UntagQueue',
]);

/** A Label: 1 to 80 letters, digits, hyphens and underscores. */
function labelOf(input: Input): string {
  const label = input.optionalString('Label');
  if (label === undefined || label === '') throw missingParameter('Label');
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(label)) {
    throw invalidParameter('Label', label, 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.');
  }
  return label;
}

/** A list member that must have at least one item, each passing `valid`. */
function nonEmptyList(input: Input, name: string, valid: (item: string) => boolean, reason: string): string[] {
  const items = input.stringList(name);
  if (items === undefined || items.length === 0) throw missingParameter(name);
  const bad = items.find((item) => !valid(item));
  if (bad !== undefined) throw invalidParameter(name, bad, reason);
  return items;
}

/** One item as itself, several as a list: how SQS writes a statement's principals and actions. */
const oneOrMany = (items: string[]): string | string[] => (items.length === 1 ? items[0] : items);

/** The queue's policy document, or a new one as SQS starts it; a lone statement is read as a list of one. */
function documentOf(policy: string | undefined, queue: string): PolicyDocument {
  if (policy === undefined) return { Version: '2008-10-17', Id: `${queueArn(queue)}/SQSDefaultPolicy`, Statement: [] };
  // Kept only once it read as a JSON object (the Policy attribute's check).
  const document = JSON.parse(policy) as Record<string, unknown>;
  const statements = document.Statement;
  return { ...document, Statement: Array.isArray(statements) ? (statements as Statement[]) : statements === undefined ? [] : [statements as Statement] };
}

export function permissionActions(deps: SqsDeps): Record<string, SqsAction> {
  const { queues } = deps;
  return {
    /** Adds a statement (Sid = Label) allowing the accounts' root principals the actions on the queue; a Label already there is refused. */
    async AddPermission(call) {
      const name = queueOf(call, 'admin');
      const label = labelOf(call.input);
      const accounts = nonEmptyList(call.input, 'AWSAccountIds', (id) => /^\d{12}$/.test(id), 'An AWS account id has 12 digits.');
      const actions = nonEmptyList(call.input, 'Actions', (action) => ACTIONS.has(action), 'Not the name of an SQS action, or *.');
      await queues.update(name, (current) => {
        const document = documentOf(current.sqsAttributes.Policy, name);
        if (document.Statement.some((statement) => statement.Sid === label)) throw invalidParameter('Label', label, 'Already exists.');
        const statement = {
          Sid: label,
          Effect: 'Allow',
          Principal: { AWS: oneOrMany(accounts.map((account) => `arn:aws:iam::${account}:root`)) },
          Action: oneOrMany(actions.map((action) => `SQS:${action}`)),
          Resource: queueArn(name),
        };
        const Policy = JSON.stringify({ ...document, Statement: [...document.Statement, statement] });
        return { sqsAttributes: { ...current.sqsAttributes, Policy } };
      });
      return {};
    },

    /** Removes the statement of a Label; with none left, the queue has no policy. */
    async RemovePermission(call) {
      const name = queueOf(call, 'admin');
      const label = labelOf(call.input);
      await queues.update(name, (current) => {
        const document = documentOf(current.sqsAttributes.Policy, name);
        const others = document.Statement.filter((statement) => statement.Sid !== label);
        if (others.length === document.Statement.length) throw invalidParameter('Label', label, "can't find label.");
        const { Policy: _removed, ...rest } = current.sqsAttributes;
        return { sqsAttributes: others.length === 0 ? rest : { ...rest, Policy: JSON.stringify({ ...document, Statement: others }) } };
      });
      return {};
    },
  };
}
