"""One table definition: the local table is built from template.yaml, and storage/keys.py names its keys."""

from __future__ import annotations

from facesearch.storage import keys
from local.provision import table_definition


def test_the_template_table_has_the_keys_and_the_index_the_storage_schema_spells():
    table = table_definition()
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == keys.EXTERNAL_INDEX
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {keys.EXTERNAL_KEY: "HASH", "sk": "RANGE"}
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", keys.EXTERNAL_KEY: "S"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
