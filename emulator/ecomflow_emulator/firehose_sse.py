"""Firehose server-side encryption (SSE) of a stream, as the Firehose API reference describes
it; moto 5.2.1 stored DeliveryStreamEncryptionConfigurationInput as given (no Status), checked
nothing, and failed on StopDeliveryStreamEncryption of a stream never encrypted.

- DescribeDeliveryStream's DeliveryStreamEncryptionConfiguration: KeyType, KeyARN (only for
  CUSTOMER_MANAGED_CMK) and Status `ENABLED` once CreateDeliveryStream (with the input) or
  StartDeliveryStreamEncryption enabled it; `{"Status": "DISABLED"}` for a stream never
  encrypted or after StopDeliveryStreamEncryption. AWS passes through ENABLING / DISABLING;
  the emulator answers the settled state at once, as it creates streams ACTIVE.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfiguration.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_StartDeliveryStreamEncryption.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_StopDeliveryStreamEncryption.html
- Refused with InvalidArgumentException (HTTP 400): SSE for a stream whose source is a
  Kinesis data stream ("You can enable SSE for a Firehose stream only if it's a Firehose
  stream that uses DirectPut as its source"), at creation or start; KeyType
  CUSTOMER_MANAGED_CMK without KeyARN, or AWS_OWNED_CMK with one. The pages give the rules,
  not the messages' wording.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfigurationInput.html
- A CUSTOMER_MANAGED_CMK KeyARN naming no key, or a key not enabled: InvalidKMSResourceException
  (HTTP 400; the message is KMS's), the error Firehose gives when KMS refuses its grant.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html
- PutRecord / PutRecordBatch answer `Encrypted` true while SSE is enabled.
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecord.html
"""

from moto.firehose.exceptions import FirehoseException, InvalidArgumentException

from . import kms

DIRECT_PUT_ONLY = (
    "SSE can be enabled only for a delivery stream that uses DirectPut as its source; "
    "{name} reads from a Kinesis data stream."
)
DISABLED = {"Status": "DISABLED"}


class InvalidKMSResourceException(FirehoseException):
    def __init__(self, message):
        super().__init__("InvalidKMSResourceException", message)


def encryption(config, account, region):
    """The stored DeliveryStreamEncryptionConfiguration for an enabling input, or the refusal."""
    key_type = (config or {}).get("KeyType")
    key_arn = (config or {}).get("KeyARN")
    if key_type == "CUSTOMER_MANAGED_CMK":
        if not key_arn:
            raise InvalidArgumentException("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
        key = kms.find_key(key_arn, account, region)
        if key is None:
            raise InvalidKMSResourceException(f"Key '{key_arn}' does not exist")
        if key.key_state != "Enabled":
            state = "pending deletion" if key.key_state == "PendingDeletion" else "disabled"
            raise InvalidKMSResourceException(f"{key.arn} is {state}.")
        return {"KeyType": key_type, "KeyARN": key_arn, "Status": "ENABLED"}
    if key_type == "AWS_OWNED_CMK":
        if key_arn:
            raise InvalidArgumentException("KeyARN must not be given when KeyType is AWS_OWNED_CMK.")
        return {"KeyType": key_type, "Status": "ENABLED"}
    raise InvalidArgumentException(
        "DeliveryStreamEncryptionConfigurationInput.KeyType must be AWS_OWNED_CMK or "
        "CUSTOMER_MANAGED_CMK."
    )


def _stream(response, name):
    from moto.firehose.exceptions import ResourceNotFoundException

    backend = response.firehose_backend
    stream = backend.delivery_streams.get(name)
    if stream is None:
        raise ResourceNotFoundException(f"Firehose {name} under account {backend.account_id} not found.")
    return stream


def _direct_put_only(stream_type, name):
    if stream_type == "KinesisStreamAsSource":
        raise InvalidArgumentException(DIRECT_PUT_ONLY.format(name=name))


def install():
    from moto.core.responses import EmptyResult
    from moto.firehose.models import FirehoseBackend
    from moto.firehose.responses import FirehoseResponse

    if getattr(FirehoseResponse.create_delivery_stream, "_sse", False):
        return
    create = FirehoseResponse.create_delivery_stream
    put_record = FirehoseBackend.put_record
    put_record_batch = FirehoseBackend.put_record_batch

    def create_delivery_stream(self):
        name = self._get_param("DeliveryStreamName")
        given = self._get_param("DeliveryStreamEncryptionConfigurationInput")
        stored = DISABLED
        if given is not None:
            _direct_put_only(self._get_param("DeliveryStreamType"), name)
            stored = encryption(given, self.current_account, self.region)
        result = create(self)
        stream = self.firehose_backend.delivery_streams.get(name)
        if stream is not None:
            stream.delivery_stream_encryption_configuration = dict(stored)
        return result

    def start_delivery_stream_encryption(self):
        name = self._get_param("DeliveryStreamName")
        stream = _stream(self, name)
        _direct_put_only(stream.delivery_stream_type, name)
        given = self._get_param("DeliveryStreamEncryptionConfigurationInput")
        given = given if given is not None else {"KeyType": "AWS_OWNED_CMK"}  # the default
        stream.delivery_stream_encryption_configuration = encryption(
            given, self.current_account, self.region
        )
        return EmptyResult()

    def stop_delivery_stream_encryption(self):
        name = self._get_param("DeliveryStreamName")
        _stream(self, name).delivery_stream_encryption_configuration = dict(DISABLED)
        return EmptyResult()

    def encrypted(backend, name):
        stream = backend.delivery_streams.get(name)
        config = getattr(stream, "delivery_stream_encryption_configuration", None) or {}
        return config.get("Status") == "ENABLED"

    def put_record_encrypted(self, delivery_stream_name, record):
        result = put_record(self, delivery_stream_name, record)
        result["Encrypted"] = encrypted(self, delivery_stream_name)
        return result

    def put_record_batch_encrypted(self, delivery_stream_name, records):
        result = put_record_batch(self, delivery_stream_name, records)
        result["Encrypted"] = encrypted(self, delivery_stream_name)
        return result

    create_delivery_stream._sse = True
    FirehoseResponse.create_delivery_stream = create_delivery_stream
    FirehoseResponse.start_delivery_stream_encryption = start_delivery_stream_encryption
    FirehoseResponse.stop_delivery_stream_encryption = stop_delivery_stream_encryption
    FirehoseBackend.put_record = put_record_encrypted
    FirehoseBackend.put_record_batch = put_record_batch_encrypted
