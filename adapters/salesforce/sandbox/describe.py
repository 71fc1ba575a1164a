"""Describe results: what ``GET /sobjects``, ``/sobjects/{sobject}`` and
``/sobjects/{sobject}/describe`` answer, in Salesforce's shapes and key names.

Every field carries the keys Salesforce's DescribeFieldResult has (those the
sandbox does not model take Salesforce's usual value for a standard field), so
code reading ``type``, ``length``, ``nillable``, ``createable``, ``updateable``,
``externalId``, ``unique``, ``idLookup``, ``picklistValues``,
``restrictedPicklist``, ``referenceTo`` or ``defaultedOnCreate`` sees what a
real org says.
"""

from __future__ import annotations

from typing import Any

from adapters.salesforce.sandbox.schema import TEXT_TYPES, Field, SObjectType

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
}


def describe_field(f: Field) -> dict[str, Any]:
    text = f.type in TEXT_TYPES or f.type in ("id", "reference")
    return {
        "aggregatable": f.filterable and f.type != "boolean",
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": f.length * 3 if text else 0,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": "Name" if f.name in ("FirstName", "LastName") else None,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": "plaintextarea" if f.type == "textarea" else None,
        "filterable": f.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.filterable and f.type not in ("double", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.id_lookup,
        "inlineHelpText": None,
        "label": f.label,
        "length": f.length if text else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": len(f.reference_to) > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable and (f.createable or f.updateable),
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == f.default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in f.picklist
        ],
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted,
        "scale": f.scale,
        "searchPrefilterable": False,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": f.filterable,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _urls(t: SObjectType, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{t.name}"
    return {
        "rowTemplate": f"{base}/{{ID}}",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "describe": f"{base}/describe",
        "sobject": base,
    }


def describe_basic(t: SObjectType, version: str) -> dict[str, Any]:
    """An entry of the global describe (and ``objectDescribe`` of the basic info)."""
    return {
        "activateable": False,
        "createable": t.createable,
        "custom": False,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": t.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": t.name in ("Account", "Contact", "Lead", "User"),
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": t.key_prefix,
        "label": t.label,
        "labelPlural": t.label_plural,
        "layoutable": True,
        "mergeable": t.name in ("Account", "Contact", "Lead"),
        "mruEnabled": True,
        "name": t.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": t.name != "ContentDocumentLink",
        "triggerable": True,
        "undeletable": t.deletable,
        "updateable": t.updateable,
        "urls": _urls(t, version),
    }


def describe_sobject(t: SObjectType, version: str) -> dict[str, Any]:
    body = describe_basic(t, version)
    body.update(
        {
            "actionOverrides": [],
            "childRelationships": [],
            "compactLayoutable": True,
            "fields": [describe_field(f) for f in t.fields],
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": True,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [{"label": "All", "name": "everything"}],
        }
    )
    return dict(sorted(body.items()))
