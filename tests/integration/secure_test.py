#!/usr/bin/env python3
"""The stage against a broker that only lets it in over SASL_SSL.

The test makes its own certificate authority and broker certificate (openssl), its own SCRAM and
PLAIN users, and starts its own broker (deploy/kafka/local.sh) with a SASL_SSL listener beside the
plaintext one that the test itself uses to write inputs and read outputs. It checks that:
  - the stage works with SCRAM-SHA-512 (password from an environment variable), SCRAM-SHA-256
    (password from a file) and PLAIN;
  - a wrong password, and a certificate signed by an authority the stage does not trust, each end
    the stage within seconds with a clear error and a non-zero exit;
  - no password is ever in a log, and check-config shows them redacted.

  secure_test.py BINARY
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
import dlrgen  # noqa: E402
import stage as harness  # noqa: E402
from stage import ROOT, Stage, Topics, fail, produce, read_all, wait_consumed  # noqa: E402

PORT = int(os.environ.get("DLR_SECURE_TEST_PORT", "19292"))  # plaintext; controller +1, SASL_SSL +2
# librdkafka before 2.6.1 cannot do SCRAM with Kafka 4 brokers (confluentinc/librdkafka#4895), so
# SCRAM is also shown against the last 3.x broker; the Kafka 4 broker is the main one.
SCRAM_BROKER_VERSION = "3.9.1"
SCRAM_PORT = PORT + 100
SCRAM_PASSWORD = "scram-" + os.urandom(6).hex()
PLAIN_PASSWORD = "plain-" + os.urandom(6).hex()
WRONG_PASSWORD = "wrong-" + os.urandom(6).hex()
FAIL_FAST_S = 30  # a misconfigured stage must be gone well within this


def check(condition, message):
    if not condition:
        fail(message)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_authority(folder, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)


def make_certificates(folder):
    """A CA, and a broker key and certificate for 127.0.0.1 signed by it (PEM, key in PKCS#8)."""
    make_authority(folder, "ca")
    make_authority(folder, "other-ca")  # trusted by nobody: for the wrong-certificate case
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "broker.key", cwd=folder)
    openssl("req", "-new", "-key", "broker.key", "-subj", "/CN=127.0.0.1", "-out", "broker.csr", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "broker.pem", cwd=folder)
    # Kafka's PEM key store: the private key, then the certificate chain, in one file.
    (folder / "keystore.pem").write_text((folder / "broker.key").read_text() + (folder / "broker.pem").read_text())


def start_broker(folder, port, version=None):
    secure = port + 2
    extra = folder / f"secure-{port}.properties"
    extra.write_text(f"""
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1},SASL_SSL://127.0.0.1:{secure}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:{secure}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_dlr-plain="{PLAIN_PASSWORD}";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location={folder / 'keystore.pem'}
""")
    env = dict(os.environ, KAFKA_PORT=str(port), KAFKA_DATA=str(folder / f"kafka-{port}"), KAFKA_TOPICS=" ",
               KAFKA_EXTRA_PROPERTIES=str(extra),
               KAFKA_FORMAT_ARGS=f"--add-scram SCRAM-SHA-512=[name=dlr,password={SCRAM_PASSWORD}] "
                                 f"--add-scram SCRAM-SHA-256=[name=dlr,password={SCRAM_PASSWORD}]")
    if version:
        env["KAFKA_VERSION"] = version
    result = subprocess.run([str(ROOT / "deploy/kafka/local.sh"), "start"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"the secure broker did not start:\n{result.stdout}{result.stderr}")
    return env, f"127.0.0.1:{secure}"


def secure_props(folder, mechanism, username, password_ref, ca="ca.pem"):
    return {"security.protocol": "SASL_SSL", "sasl.mechanisms": mechanism, "sasl.username": username,
            "sasl.password": password_ref, "ssl.ca.location": folder / ca}


def no_secret_in(text, where):
    for secret in (SCRAM_PASSWORD, PLAIN_PASSWORD, WRONG_PASSWORD):
        check(secret not in text, f"a password is in {where}")


def works(binary, folder, secure, mechanism, username, password_ref):
    """The stage enriches a small stream over SASL_SSL and stops cleanly."""
    msgs = list(dlrgen.generate(700, 300, 0.0))
    topics = Topics(["sms"], partitions=2)
    coords = produce(topics.inputs, [("sms", m["key"], m["value"], None) for m in msgs])
    stage = Stage(binary, topics, brokers=secure, common_props=secure_props(folder, mechanism, username, password_ref),
                  name=mechanism.lower())
    wait_consumed([stage], len(coords), timeout=90)
    code, _ = stage.stop()
    check(code == 0, f"{mechanism}: exit {code}:\n{stage.text()}")
    enriched = read_all(topics.outputs["enriched"])
    check(len(enriched) > 0, f"{mechanism}: nothing enriched")
    no_secret_in(stage.text(), f"the {mechanism} log")
    config = subprocess.run([binary, "check-config", str(stage.config)], capture_output=True, text=True)
    check(config.returncode == 0, f"check-config failed: {config.stderr}")
    check('sasl.password: "***"' in config.stdout, f"check-config does not show the password redacted:\n{config.stdout}")
    no_secret_in(config.stdout + config.stderr, "check-config's output")
    print(f"secure: {mechanism} with the password from {password_ref}: {len(coords)} messages in, "
          f"{len(enriched)} enriched, exit 0")


def refused(binary, folder, secure, what, props, expected):
    """A misconfigured stage stops on its own, soon, saying why."""
    topics = Topics(["sms"], partitions=1)
    stage = Stage(binary, topics, brokers=secure, common_props=props, name=what.replace(" ", "-"), wait_port=False)
    started = time.time()
    try:
        code = stage.proc.wait(FAIL_FAST_S)
    except subprocess.TimeoutExpired:
        stage.proc.kill()
        fail(f"{what}: still running after {FAIL_FAST_S}s:\n{stage.text()}")
    took = time.time() - started
    log = stage.text()
    check(code != 0, f"{what}: exit 0:\n{log}")
    check("cannot connect securely to the brokers" in log and expected in log,
          f"{what}: the log does not say why ({expected}):\n{log}")
    no_secret_in(log, f"the log of {what}")
    print(f"secure: {what}: exit {code} after {took:.1f}s, log says '{expected}'")


def scram_fixed():
    """True when the librdkafka the stage is built with can do SCRAM with Kafka 4 (2.6.1 or later)."""
    import re
    version = subprocess.run(["pkg-config", "--modversion", "rdkafka"], capture_output=True, text=True).stdout
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3]) >= (2, 6, 1)


def main():
    binary = sys.argv[1]
    folder = Path(tempfile.mkdtemp(prefix="dlr-secure-"))
    make_certificates(folder)
    os.environ["DLR_TEST_SCRAM_PASSWORD"] = SCRAM_PASSWORD
    os.environ["DLR_TEST_PLAIN_PASSWORD"] = PLAIN_PASSWORD
    os.environ["DLR_TEST_WRONG_PASSWORD"] = WRONG_PASSWORD
    (folder / "plain-password").write_text(PLAIN_PASSWORD + "\n")
    (folder / "scram-password").write_text(SCRAM_PASSWORD + "\n")
    scram_env = "${env:DLR_TEST_SCRAM_PASSWORD}"

    env, secure = start_broker(folder, PORT)
    harness.BROKERS = f"127.0.0.1:{PORT}"  # the test's own reads and writes use the plaintext listener
    try:
        works(binary, folder, secure, "PLAIN", "dlr-plain", "${env:DLR_TEST_PLAIN_PASSWORD}")
        works(binary, folder, secure, "PLAIN", "dlr-plain", "${file:" + str(folder / "plain-password") + "}")
        if scram_fixed():
            works(binary, folder, secure, "SCRAM-SHA-512", "dlr", scram_env)
        else:
            refused(binary, folder, secure, "SCRAM with this librdkafka against Kafka 4",
                    secure_props(folder, "SCRAM-SHA-512", "dlr", scram_env), "fixed in librdkafka 2.6.1")
        refused(binary, folder, secure, "wrong password",
                secure_props(folder, "PLAIN", "dlr-plain", "${env:DLR_TEST_WRONG_PASSWORD}"), "Authentication failed")
        refused(binary, folder, secure, "untrusted broker certificate",
                secure_props(folder, "PLAIN", "dlr-plain", "${env:DLR_TEST_PLAIN_PASSWORD}", ca="other-ca.pem"),
                "certificate verify failed")
    finally:
        subprocess.run([str(ROOT / "deploy/kafka/local.sh"), "stop"], env=env, capture_output=True)

    env, secure = start_broker(folder, SCRAM_PORT, SCRAM_BROKER_VERSION)
    harness.BROKERS = f"127.0.0.1:{SCRAM_PORT}"
    try:
        works(binary, folder, secure, "SCRAM-SHA-512", "dlr", scram_env)
        works(binary, folder, secure, "SCRAM-SHA-256", "dlr", "${file:" + str(folder / "scram-password") + "}")
        refused(binary, folder, secure, "wrong SCRAM password",
                secure_props(folder, "SCRAM-SHA-512", "dlr", "${env:DLR_TEST_WRONG_PASSWORD}"), "Authentication failed")
    finally:
        subprocess.run([str(ROOT / "deploy/kafka/local.sh"), "stop"], env=env, capture_output=True)
    print("secure: passed")


if __name__ == "__main__":
    main()
