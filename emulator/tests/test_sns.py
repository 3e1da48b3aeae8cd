"""SNS delivery to SQS on a running emulator (`ecomflow_emulator.sns`): a subscribed queue gets
a topic's messages only when its access policy lets `sns.amazonaws.com` send them, and
Publish succeeds either way.
"""

import itertools
import json
import unittest

from support import EmulatorCase, allow, deny, policy

SEND = "sqs:SendMessage"
SNS = {"Service": "sns.amazonaws.com"}


class SnsToSqs(EmulatorCase):
    names = itertools.count()

    def setUp(self):
        self.sns = self.client("sns")
        self.sqs = self.client("sqs")

    def topic(self):
        return self.sns.create_topic(Name=f"alerts-{next(self.names)}")["TopicArn"]

    def queue(self, queue_policy=None):
        """A new queue: (URL, ARN). `queue_policy`: a function of the queue's ARN."""
        url = self.sqs.create_queue(QueueName=f"updates-{next(self.names)}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        if queue_policy:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn)})
        return url, arn

    def subscribe(self, topic, queue_arn, raw=False):
        attributes = {"RawMessageDelivery": "true"} if raw else {}
        self.sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
        )

    def publish(self, topic, **extra):
        answer = self.sns.publish(TopicArn=topic, Message="stock low", Subject="alert", **extra)
        self.assertIn("MessageId", answer)  # Publish succeeds whatever the queue's policy.

    def received(self, url):
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    @staticmethod
    def from_topic(topic, principal=SNS, condition="ArnEquals"):
        """The queue policy AWS documents: the principal may send, for `topic` only."""
        return lambda arn: policy(
            allow(SEND, arn, Principal=principal, Condition={condition: {"aws:SourceArn": topic}})
        )

    def test_delivered_when_the_policy_allows_the_topic(self):
        topic = self.topic()
        url, arn = self.queue(self.from_topic(topic))
        self.subscribe(topic, arn)
        self.publish(topic)
        [message] = self.received(url)
        envelope = json.loads(message["Body"])
        self.assertEqual(envelope["Message"], "stock low")
        self.assertEqual(envelope["Subject"], "alert")
        self.assertEqual(envelope["TopicArn"], topic)

    def test_wildcard_principal_allowed(self):
        # The policy the AWS SDKs' SubscribeQueue writes: Principal "*", ArnLike.
        topic = self.topic()
        url, arn = self.queue(self.from_topic(topic, principal="*", condition="ArnLike"))
        self.subscribe(topic, arn)
        self.publish(topic)
        self.assertEqual(len(self.received(url)), 1)

    def test_raw_delivery_when_allowed(self):
        topic = self.topic()
        url, arn = self.queue(self.from_topic(topic))
        self.subscribe(topic, arn, raw=True)
        attributes = {"kind": {"DataType": "String", "StringValue": "rejects"}}
        self.publish(topic, MessageAttributes=attributes)
        [message] = self.sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])[
            "Messages"
        ]
        self.assertEqual(message["Body"], "stock low")
        self.assertEqual(message["MessageAttributes"]["kind"]["StringValue"], "rejects")

    def test_not_delivered_without_a_policy(self):
        topic = self.topic()
        url, arn = self.queue()
        self.subscribe(topic, arn)
        self.publish(topic)
        self.assertEqual(self.received(url), [])
        self.assertIn(
            f"sns: NOT DELIVERED {topic} to {arn}: the queue has no access policy",
            self.server_log(),
        )

    def test_not_delivered_when_the_policy_names_another_topic(self):
        topic, other = self.topic(), self.topic()
        url, arn = self.queue(self.from_topic(other))
        self.subscribe(topic, arn)
        self.publish(topic)
        self.assertEqual(self.received(url), [])

    def test_not_delivered_to_an_account_principal(self):
        # SNS sends as its service principal, not as the topic owner's account.
        topic = self.topic()
        url, arn = self.queue(self.from_topic(topic, principal={"AWS": "123456789012"}))
        self.subscribe(topic, arn)
        self.publish(topic)
        self.assertEqual(self.received(url), [])

    def test_explicit_deny_wins(self):
        topic = self.topic()
        condition = {"ArnEquals": {"aws:SourceArn": topic}}

        def both(arn):
            return policy(
                allow(SEND, arn, Principal=SNS, Condition=condition),
                deny(SEND, arn, Principal="*", Condition=condition),
            )

        url, arn = self.queue(both)
        self.subscribe(topic, arn)
        self.publish(topic)
        self.assertEqual(self.received(url), [])
        self.assertIn(f"{arn}: the queue policy denies it", self.server_log())


if __name__ == "__main__":
    unittest.main()
