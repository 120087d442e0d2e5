package org.pgxcds.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.test.config.TestR4Config;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * A HAPI FHIR JPA server (R4, in-memory H2) on 127.0.0.1 for the integration tests.
 *
 * <p>It reuses {@link TestR4Config}, the Spring context HAPI boots for its own R4 provider tests,
 * so no JPA bean is hand-written here; we only tune storage settings and put a RestfulServer on
 * embedded Jetty. Usage: {@code java -cp 'target/classes:target/lib/*' org.pgxcds.hapi.HapiTestServer PORT}.
 * Prints {@code READY <base URL>} once the server answers; all data is lost on exit.
 */
public final class HapiTestServer {

	private HapiTestServer() {}

	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: HapiTestServer PORT");
			System.exit(2);
		}
		int port = Integer.parseInt(args[0]);
		long started = System.nanoTime();

		AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(TestR4Config.class);
		FhirContext fhirContext = context.getBean(FhirContext.class);
		JpaStorageSettings storage = context.getBean(JpaStorageSettings.class);

		// Tests write and then search at once; a cached result from an earlier identical search
		// (default: kept 60 s) would hide what was just written.
		storage.setReuseCachedSearchResultsForMillis(null);
		// Lab bundles reference Patients the test creates later or never: make a placeholder
		// Patient rather than rejecting the Observation.
		storage.setAutoCreatePlaceholderReferenceTargets(true);
		// Examples cite absolute URLs of other servers (e.g. a Specimen elsewhere); keep them as-is.
		storage.setAllowExternalReferences(true);
		// Lets a test (or a human) wipe data with $expunge instead of restarting the server.
		storage.setExpungeEnabled(true);

		RestfulServer restful = new RestfulServer(fhirContext);
		restful.registerProviders(context.getBean("myResourceProvidersR4", ResourceProviderFactory.class).createProviders());
		// The system provider serves POST [base] transactions and batches.
		restful.registerProvider(context.getBean("mySystemProviderR4"));
		restful.setPagingProvider(context.getBean(DatabaseBackedPagingProvider.class));
		@SuppressWarnings("unchecked")
		IFhirSystemDao<?, ?> systemDao = context.getBean("mySystemDaoR4", IFhirSystemDao.class);
		restful.setServerConformanceProvider(new JpaCapabilityStatementProvider(
				restful,
				systemDao,
				storage,
				context.getBean(ISearchParamRegistry.class),
				context.getBean(IValidationSupport.class)));
		restful.setDefaultResponseEncoding(EncodingEnum.JSON);

		Server jetty = new Server();
		ServerConnector connector = new ServerConnector(jetty);
		// Loopback only: this server has no authentication at all.
		connector.setHost("127.0.0.1");
		connector.setPort(port);
		jetty.addConnector(connector);
		ServletContextHandler handler = new ServletContextHandler();
		handler.setContextPath("/");
		handler.addServlet(new ServletHolder(restful), "/fhir/*");
		jetty.setHandler(handler);
		jetty.setStopAtShutdown(false);

		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			try {
				jetty.stop();
			} catch (Exception e) {
				e.printStackTrace();
			}
			context.close();
		}, "hapi-test-server-shutdown"));

		jetty.start();
		long seconds = (System.nanoTime() - started) / 1_000_000_000L;
		System.out.println("READY http://127.0.0.1:" + connector.getLocalPort() + "/fhir (" + seconds + " s)");
		System.out.flush();
		jetty.join();
	}
}
