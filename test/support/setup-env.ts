import { inject } from 'vitest';

// Every AWS SDK client in tests talks to the run's moto_server (the SDK honours
// AWS_ENDPOINT_URL) with dummy credentials; nothing can reach a real account.
process.env.AWS_ENDPOINT_URL = inject('motoEndpoint');
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_SESSION_TOKEN = 'testing';
delete process.env.AWS_PROFILE;
