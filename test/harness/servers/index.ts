// Real servers for tests, each on a free loopback port: OpenSSH (SFTP), FTP, S3 (moto) and an SMTP sink.
// Every start function returns plain connection info plus stop(); the info is JSON-serializable (stop() is
// dropped by JSON.stringify), so a test runner may start servers once and hand them to test processes.
export { freePort, waitForPort } from './ports.js';
export { startSshd, type SshdServer } from './sshd.js';
export { startFtp, type FtpServer } from './ftp.js';
export { startS3, type S3Server } from './s3.js';
export { startSmtp, type SmtpSink, type ReceivedMail } from './smtp.js';
