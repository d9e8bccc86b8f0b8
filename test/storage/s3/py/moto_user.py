"""Creates, on a moto server whose authentication is on (INITIAL_NO_AUTH_ACTION_COUNT), an IAM user allowed
every S3 action, and prints its access key as JSON: {"accessKeyId": ..., "secretAccessKey": ...}. From then on
moto checks every request's SigV4 signature against this key, as AWS does.

usage: moto_user.py <endpoint>
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
iam = boto3.client(
    "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap"
)
iam.create_user(UserName="webdcp")
iam.put_user_policy(
    UserName="webdcp",
    PolicyName="s3-all",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    ),
)
key = iam.create_access_key(UserName="webdcp")["AccessKey"]
print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
