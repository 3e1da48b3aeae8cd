"""SNS: delivery to an SQS subscription only when the queue's access policy lets SNS send.

moto 5.2.1 (`Subscription.publish`, protocol "sqs") puts every published message in the
subscribed queue whatever the queue's policy says. On AWS, SNS sends to the queue as the
service principal `sns.amazonaws.com`, on behalf of the topic, so the queue's access policy
must allow that principal (or `*`) `sqs:SendMessage` on the queue, typically only for the
topic (`"Condition": {"ArnEquals": {"aws:SourceArn": "<topic ARN>"}}`); without such a policy
the subscription is confirmed and Publish succeeds, but the message never reaches the queue.
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
https://repost.aws/knowledge-center/sns-sqs-subscriptions-notifications
"""

import json
import sys

from . import iam_eval

SNS_PRINCIPAL = "sns.amazonaws.com"


def names_service(principal, service):
    """Whether a statement's Principal covers a service principal (`sns.amazonaws.com`...):
    `*`, `{"AWS": "*"}` or `{"Service": service}`, each as a string or in a list. An account
    or role principal does not: a service does not call as one."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False

    def listed(key, wanted):
        values = principal.get(key)
        return wanted in (values if isinstance(values, list) else [values])

    return listed("AWS", "*") or listed("Service", service)


def statements_for(policy_text, service):
    """A resource policy's statements that apply to `service` (iam_eval ignores Principal)."""
    try:
        document = json.loads(policy_text) if isinstance(policy_text, str) else policy_text
    except (TypeError, ValueError):
        return []
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return [
        s
        for s in statements or []
        if isinstance(s, dict) and names_service(s.get("Principal"), service)
    ]


def refusal(queue, topic_arn):
    """Why the queue's policy does not let SNS send the topic's messages, or None if it does.

    Evaluated as the request SNS makes: action sqs:SendMessage on the queue's ARN, with
    aws:SourceArn the topic and aws:SourceAccount its account. An explicit Deny wins.
    """
    if not queue.policy:
        return "the queue has no access policy"
    statements = statements_for(queue.policy, SNS_PRINCIPAL)
    context = {"aws:SourceArn": topic_arn, "aws:SourceAccount": topic_arn.split(":")[4]}
    decision = iam_eval.evaluate(
        [{"Statement": statements}], "sqs:SendMessage", queue.queue_arn, context
    )
    if decision == iam_eval.EXPLICIT_DENY:
        return "the queue policy denies it"
    if decision == iam_eval.IMPLICIT_DENY:
        return f"the queue policy does not allow {SNS_PRINCIPAL} sqs:SendMessage from this topic"
    return None


def deliver_to_sqs_only_when_allowed():
    """Wrap moto's `Subscription.publish`: for protocol "sqs", a refused delivery is dropped
    with one line on stderr (Publish still answers success, as on AWS); otherwise moto
    delivers exactly as before (envelope or raw). Other protocols are untouched."""
    from moto.sns.models import Subscription
    from moto.sqs.models import sqs_backends

    if getattr(Subscription.publish, "_queue_policy", False):
        return
    original = Subscription.publish

    def publish(self, message, message_id, subject=None, message_attributes=None, **kwargs):
        if self.protocol == "sqs":
            # The queue moto would send to: its name and region from the endpoint ARN, in
            # the subscription's account (moto's own look-up). An unknown queue is left to
            # moto, which answers as it did.
            parts = self.endpoint.split(":")
            region, name = parts[3], parts[-1]
            queue = sqs_backends[self.account_id][region].queues.get(name)
            why = refusal(queue, self.topic.arn) if queue is not None else None
            if why is not None:
                # A message the subscription's filter policy drops is not "refused".
                matcher = self._filter_policy_matcher
                if matcher is None or matcher.matches(message_attributes, message):
                    sys.stderr.write(
                        f"sns: NOT DELIVERED {self.topic.arn} to {queue.queue_arn}: {why}\n"
                    )
                    sys.stderr.flush()
                return
        return original(self, message, message_id, subject, message_attributes, **kwargs)

    publish._queue_policy = True
    Subscription.publish = publish


def install():
    deliver_to_sqs_only_when_allowed()
