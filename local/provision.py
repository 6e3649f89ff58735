"""Creates the service's table and bucket on a backend that has none (the local moto server, tests).

The table is made from template.yaml's FacesTable itself (keys, attribute types, indexes), so the local
table and the deployed one cannot drift apart; tests/unit/test_table_schema.py checks that the key names
storage/keys.py spells are the template's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
TABLE_RESOURCE = "FacesTable"
_TABLE_MEMBERS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as plain values: the table's keys use none."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _any_tag)


@cache
def template_resources(template: Path = TEMPLATE) -> dict[str, Any]:
    resources: dict[str, Any] = yaml.load(template.read_text(), Loader=_CloudFormationLoader)["Resources"]
    return resources


def table_definition(template: Path = TEMPLATE) -> dict[str, Any]:
    """CreateTable's arguments (but the name) for the template's FacesTable."""
    properties = template_resources(template)[TABLE_RESOURCE]["Properties"]
    return {name: properties[name] for name in _TABLE_MEMBERS if name in properties}


def create_table(dynamodb: Any, table_name: str) -> None:
    try:
        dynamodb.create_table(TableName=table_name, **table_definition())
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
