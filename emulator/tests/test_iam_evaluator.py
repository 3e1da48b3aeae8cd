"""The IAM policy evaluator alone (`ecomflow_emulator.iam_eval`): no server, no moto needed.

Each rule of `iam_eval`'s module documentation (its AWS page there) has a case it allows and
one it refuses: actions, resources, the decision, policy documents, conditions, and the parts
of a request the evaluator reads (the signing key, the refusal message). The same rules on a
running emulator, with real AWS calls: test_iam_enforcement.py.
"""

import unittest
from urllib.parse import quote

from ecomflow_emulator import iam_eval
from ecomflow_emulator.iam_eval import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, evaluate
from support import ACCOUNT, OTHER_STREAM, STREAM, allow, deny, policy


class EvaluatorActions(unittest.TestCase):
    def test_exact_action_allowed_other_action_denied(self):
        p = [policy(allow("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), IMPLICIT_DENY)

    def test_actions_are_case_insensitive(self):
        p = [policy(allow("KINESIS:putrecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)

    def test_star_wildcard_in_action(self):
        p = [policy(allow("kinesis:Put*", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:GetRecords", STREAM), IMPLICIT_DENY)

    def test_question_mark_matches_one_character(self):
        p = [policy(allow("kinesis:PutRecord?", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), IMPLICIT_DENY)

    def test_action_list(self):
        p = [policy(allow(["dynamodb:GetItem", "dynamodb:Query"]))]
        self.assertEqual(evaluate(p, "dynamodb:Query", "*"), ALLOWED)
        self.assertEqual(evaluate(p, "dynamodb:PutItem", "*"), IMPLICIT_DENY)

    def test_not_action(self):
        p = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "iam:CreateRole", "*"), IMPLICIT_DENY)

    def test_deny_with_not_action(self):
        p = [
            policy(allow("*"), {"Effect": "Deny", "NotAction": "kinesis:*", "Resource": "*"})
        ]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::b/k"), EXPLICIT_DENY)


class EvaluatorResources(unittest.TestCase):
    def test_exact_resource(self):
        p = [policy(allow("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", OTHER_STREAM), IMPLICIT_DENY)

    def test_star_in_resource_and_case_sensitivity(self):
        p = [policy(allow("s3:PutObject", "arn:aws:s3:::lake/rejects/*"))]
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/rejects/a/b.gz"), ALLOWED)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/REJECTS/a"), IMPLICIT_DENY)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/other/a"), IMPLICIT_DENY)

    def test_question_mark_in_resource(self):
        p = [policy(allow("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t?"))]
        table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/"
        self.assertEqual(evaluate(p, "dynamodb:GetItem", table + "t1"), ALLOWED)
        self.assertEqual(evaluate(p, "dynamodb:GetItem", table + "t12"), IMPLICIT_DENY)

    def test_star_inside_a_segment_stays_in_it_and_a_trailing_star_does_not(self):
        group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
        inside = [policy(allow("logs:PutLogEvents", group + "a*b"))]
        self.assertEqual(evaluate(inside, "logs:PutLogEvents", group + "axxb"), ALLOWED)
        self.assertEqual(evaluate(inside, "logs:PutLogEvents", group + "a:b"), IMPLICIT_DENY)
        trailing = [policy(allow("logs:PutLogEvents", group + "a*"))]
        self.assertEqual(
            evaluate(trailing, "logs:PutLogEvents", group + "a:log-stream:s"), ALLOWED
        )

    def test_star_resource_matches_everything_including_unmapped_star(self):
        p = [policy(allow("sns:Publish"))]
        self.assertEqual(evaluate(p, "sns:Publish", "*"), ALLOWED)
        scoped = [policy(allow("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t"))]
        self.assertEqual(evaluate(scoped, "sns:Publish", "*"), IMPLICIT_DENY)

    def test_not_resource(self):
        p = [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::lake/secret/*"})]
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/open/x"), ALLOWED)
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/secret/x"), IMPLICIT_DENY)

    def test_statement_without_resource_never_applies(self):
        p = [policy({"Effect": "Allow", "Action": "s3:*"})]
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/x"), IMPLICIT_DENY)


class EvaluatorDecision(unittest.TestCase):
    def test_default_deny(self):
        self.assertEqual(evaluate([], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)
        self.assertEqual(evaluate([policy()], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)

    def test_explicit_deny_wins_over_allow_in_the_same_policy(self):
        p = [policy(allow("kinesis:*"), deny("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate(p, "kinesis:PutRecords", OTHER_STREAM), ALLOWED)

    def test_explicit_deny_wins_across_policies_in_any_order(self):
        allowing, denying = policy(allow("*")), policy(deny("kinesis:*"))
        self.assertEqual(evaluate([allowing, denying], "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate([denying, allowing], "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate([denying, allowing], "s3:GetObject", "*"), ALLOWED)

    def test_deny_that_does_not_match_leaves_allow(self):
        p = [policy(allow("*"), deny("kinesis:PutRecords", OTHER_STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)


class EvaluatorDocuments(unittest.TestCase):
    statement = allow("kinesis:PutRecords", STREAM)

    def test_json_text(self):
        self.assertEqual(evaluate([policy(self.statement)], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_url_encoded_text(self):
        encoded = quote(policy(self.statement))
        self.assertEqual(evaluate([encoded], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_dict_and_single_statement_object(self):
        document = {"Version": "2012-10-17", "Statement": self.statement}
        self.assertEqual(evaluate([document], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_garbage_allows_nothing(self):
        self.assertEqual(evaluate(["not a policy"], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)


class EvaluatorConditions(unittest.TestCase):
    def check(self, condition, context, expected):
        p = [policy(allow("s3:ListBucket", "arn:aws:s3:::lake", Condition=condition))]
        got = evaluate(p, "s3:ListBucket", "arn:aws:s3:::lake", context)
        self.assertEqual(got, expected, f"{condition} with {context}")

    def test_string_equals(self):
        c = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)
        self.check(c, {"aws:RequestedRegion": "US-EAST-1"}, IMPLICIT_DENY)
        self.check(c, {"aws:RequestedRegion": "eu-west-1"}, IMPLICIT_DENY)

    def test_string_not_equals(self):
        c = {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)
        self.check(c, {"aws:RequestedRegion": "eu-central-1"}, IMPLICIT_DENY)

    def test_string_like(self):
        c = {"StringLike": {"s3:prefix": ["rejects/*", "x?"]}}
        self.check(c, {"s3:prefix": "rejects/dt=2026-01-01/"}, ALLOWED)
        self.check(c, {"s3:prefix": "xy"}, ALLOWED)
        self.check(c, {"s3:prefix": "Rejects/a"}, IMPLICIT_DENY)
        self.check(c, {"s3:prefix": "xyz"}, IMPLICIT_DENY)

    def test_string_not_like(self):
        c = {"StringNotLike": {"s3:prefix": "private/*"}}
        self.check(c, {"s3:prefix": "public/a"}, ALLOWED)
        self.check(c, {"s3:prefix": "private/a"}, IMPLICIT_DENY)

    def test_arn_like_matches_each_part(self):
        c = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ecomflow-*"}}
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ecomflow-dev-ingest"}, ALLOWED)
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/other"}, IMPLICIT_DENY)
        self.check(c, {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/ecomflow-x"}, IMPLICIT_DENY)

    def test_arn_like_star_does_not_span_parts_unlike_string_like(self):
        # The IAM guide's own example of StringLike matching where ArnLike does not.
        pattern = f"arn:aws:someservice:*:{ACCOUNT}:finance/*"
        value = f"arn:aws:someservice:us-east-2:999999999999:store/abc:{ACCOUNT}:finance/doc.txt"
        self.check({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}, ALLOWED)
        self.check({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}, IMPLICIT_DENY)

    def test_arn_equals_behaves_as_arn_like(self):
        c = {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}}
        self.check(c, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"}, ALLOWED)
        self.check(c, {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts"}, IMPLICIT_DENY)

    def test_arn_not_like(self):
        c = {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-*"}}
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ingest"}, ALLOWED)
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-1"}, IMPLICIT_DENY)

    def test_bool(self):
        c = {"Bool": {"aws:SecureTransport": "true"}}
        self.check(c, {"aws:SecureTransport": "true"}, ALLOWED)
        self.check(c, {"aws:SecureTransport": True}, ALLOWED)
        self.check(c, {"aws:SecureTransport": "false"}, IMPLICIT_DENY)

    def test_bool_deny_insecure_transport(self):
        p = [policy(allow("s3:*"), deny("s3:*", Condition={"Bool": {"aws:SecureTransport": False}}))]
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {"aws:SecureTransport": "false"}), EXPLICIT_DENY)
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {"aws:SecureTransport": "true"}), ALLOWED)

    def test_numeric_operators(self):
        cases = [
            ("NumericLessThan", "10", "9", "10"),
            ("NumericLessThanEquals", "10", "10", "11"),
            ("NumericGreaterThan", "10", "11", "10"),
            ("NumericGreaterThanEquals", "10", "10", "9"),
            ("NumericEquals", "10", "10.0", "11"),
            ("NumericNotEquals", "10", "11", "10"),
        ]
        for operator, limit, good, bad in cases:
            c = {operator: {"s3:max-keys": limit}}
            self.check(c, {"s3:max-keys": good}, ALLOWED)
            self.check(c, {"s3:max-keys": bad}, IMPLICIT_DENY)
        self.check({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "many"}, IMPLICIT_DENY)

    def test_absent_key_fails_a_positive_operator(self):
        for c in (
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            {"StringLike": {"s3:prefix": "*"}},
            {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}},
            {"Bool": {"aws:SecureTransport": "false"}},
            {"NumericLessThan": {"s3:max-keys": "10"}},
        ):
            self.check(c, {}, IMPLICIT_DENY)

    def test_absent_key_satisfies_a_negated_operator(self):
        for c in (
            {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}},
            {"StringNotLike": {"s3:prefix": "private/*"}},
            {"ArnNotLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}},
        ):
            self.check(c, {}, ALLOWED)

    def test_if_exists(self):
        c = {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}
        self.check(c, {}, ALLOWED)
        self.check(c, {"aws:SourceAccount": ACCOUNT}, ALLOWED)
        self.check(c, {"aws:SourceAccount": "999999999999"}, IMPLICIT_DENY)
        a = {"ArnLikeIfExists": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}
        self.check(a, {}, ALLOWED)
        self.check(a, {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:t"}, IMPLICIT_DENY)

    def test_negated_if_exists_in_a_deny_still_denies(self):
        # "If you are using an Effect: Deny element with a negated condition operator like
        # StringNotEqualsIfExists, the request is still denied even if the tag is missing."
        p = [
            policy(
                allow("*"),
                deny("*", Condition={"StringNotEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}),
            )
        ]
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {}), EXPLICIT_DENY)

    def test_null(self):
        self.check({"Null": {"s3:prefix": "true"}}, {}, ALLOWED)
        self.check({"Null": {"s3:prefix": "true"}}, {"s3:prefix": "a"}, IMPLICIT_DENY)
        self.check({"Null": {"s3:prefix": "false"}}, {"s3:prefix": "a"}, ALLOWED)
        self.check({"Null": {"s3:prefix": "false"}}, {}, IMPLICIT_DENY)

    def test_for_any_value(self):
        c = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}
        self.check(c, {"aws:TagKeys": ["cost", "owner"]}, ALLOWED)
        self.check(c, {"aws:TagKeys": ["cost"]}, IMPLICIT_DENY)
        self.check(c, {}, IMPLICIT_DENY)
        self.check(c, {"aws:TagKeys": []}, IMPLICIT_DENY)

    def test_for_all_values(self):
        c = {"ForAllValues:StringLike": {"aws:TagKeys": ["ecomflow:*", "Name"]}}
        self.check(c, {"aws:TagKeys": ["ecomflow:stack", "Name"]}, ALLOWED)
        self.check(c, {"aws:TagKeys": ["ecomflow:stack", "other"]}, IMPLICIT_DENY)
        self.check(c, {}, ALLOWED)

    def test_for_all_values_negated_as_the_guide_tabulates(self):
        # Deny ForAllValues:StringNotLike aws:TagKeys "key1*": key1 values do not match,
        # key2:audit matches, no key at all matches.
        p = [
            policy(
                allow("*"),
                deny("iam:Tag*", Condition={"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}),
            )
        ]
        run = lambda keys: evaluate(p, "iam:TagRole", "*", {} if keys is None else {"aws:TagKeys": keys})
        self.assertEqual(run(["key1:legal"]), ALLOWED)
        self.assertEqual(run(["key1:hr", "key1:personnel"]), ALLOWED)
        self.assertEqual(run(["key2:audit"]), EXPLICIT_DENY)
        self.assertEqual(run(None), EXPLICIT_DENY)

    def test_operators_and_keys_are_and_ed(self):
        c = {
            "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT},
            "Bool": {"aws:SecureTransport": "false"},
        }
        good = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT, "aws:SecureTransport": "false"}
        self.check(c, good, ALLOWED)
        self.check(c, {**good, "aws:PrincipalAccount": "999999999999"}, IMPLICIT_DENY)
        self.check(c, {**good, "aws:SecureTransport": "true"}, IMPLICIT_DENY)

    def test_condition_key_names_are_case_insensitive(self):
        c = {"StringEquals": {"AWS:requestedregion": "us-east-1"}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)

    def test_unknown_operator_never_applies(self):
        self.check({"StringSortOf": {"aws:RequestedRegion": "us-east-1"}}, {"aws:RequestedRegion": "us-east-1"}, IMPLICIT_DENY)


class RequestParts(unittest.TestCase):
    def test_signing_key_of_a_temporary_sigv4_header(self):
        header = (
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE123456789/20260101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=abc"
        )
        self.assertEqual(iam_eval.signing_key({"Authorization": header}, {}), "ASIAEXAMPLE123456789")

    def test_other_keys_are_not_evaluated(self):
        for key in ("testing", "AKIAEXAMPLE123456789"):
            header = f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/s3/aws4_request, Signature=x"
            self.assertIsNone(iam_eval.signing_key({"Authorization": header}, {}))
        self.assertIsNone(iam_eval.signing_key({}, {}))

    def test_presigned_url_credential(self):
        query = {"X-Amz-Credential": ["ASIAEXAMPLE123456789/20260101/us-east-1/s3/aws4_request"]}
        self.assertEqual(iam_eval.signing_key({}, query), "ASIAEXAMPLE123456789")
        query = {"X-Amz-Credential": ["testing/20260101/us-east-1/s3/aws4_request"]}
        self.assertIsNone(iam_eval.signing_key({}, query))

    def test_denial_messages(self):
        principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest/s1"
        implicit = iam_eval.denial_message(principal, "kinesis:PutRecords", STREAM, IMPLICIT_DENY)
        self.assertEqual(
            implicit,
            f"User: {principal} is not authorized to perform: kinesis:PutRecords on resource: "
            f"{STREAM} because no identity-based policy allows the kinesis:PutRecords action",
        )
        explicit = iam_eval.denial_message(principal, "kinesis:PutRecords", STREAM, EXPLICIT_DENY)
        self.assertTrue(explicit.endswith("with an explicit deny in an identity-based policy"))


if __name__ == "__main__":
    unittest.main()
