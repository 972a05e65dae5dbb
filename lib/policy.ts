import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Helpers for the policies the constructs write out by hand, and for the cdk-nag
 * acknowledgements that name what those policies grant.
 */

/** The `kms:ViaService` value of an AWS service in the stack's Region. */
export function viaService(service: string): string {
  return `${service}.${Aws.REGION}.amazonaws.com`;
}

/** The ARN of the secrets whose names match `namePattern`, in the stack of `scope`. */
export function secretArn(scope: IConstruct, namePattern: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: namePattern,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * How cdk-nag names a resource in a finding id: the resolved CloudFormation value,
 * flattened (`<Logical.Arn>`, `<AWS::Region>`), as its flattenCfnReference does.
 */
export function nagFinding(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
    if (typeof node === 'object' && node !== null) {
      const intrinsic = node as Record<string, unknown>;
      if (Array.isArray(intrinsic['Fn::Join'])) {
        const [delimiter, items] = intrinsic['Fn::Join'] as [string, unknown[]];
        return items.map(visit).join(delimiter);
      }
      if (Array.isArray(intrinsic['Fn::GetAtt'])) {
        const [resource, attribute] = intrinsic['Fn::GetAtt'] as [unknown, unknown];
        return `<${visit(resource)}.${visit(attribute)}>`;
      }
      if (intrinsic.Ref !== undefined) return `<${visit(intrinsic.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}
